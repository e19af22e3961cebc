import { afterEach, describe, expect, it } from 'vitest'
import { serverConfigSchema } from '../../../lib/config/server-config.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import { ackLeases, pullLeases } from '../../../lib/relay/agent-service.ts'
import { findJob, triggerRun } from '../../../lib/relay/sync/sync-service.ts'
import { ZERO_COUNTS } from '../../../lib/relay/sync-types.ts'
import { AGENT, createRelayFixture, type RelayFixture } from '../admin/relay-fixture.ts'

/**
 * The Agent API service at its edges (agent-service.test.ts walks the main paths), on SQLite in
 * memory: what a grant carries, a pull of more than one receive, a pull that carries no acks, an
 * aborted long poll, a done note, a finished sync run's report, and leases used up by expiry.
 */

const source = { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id', event: 'body.type' }, maxAttempts: 1 }
const config = parseWithSchema(
  serverConfigSchema,
  { sources: { shop: { ...source, forwardPayload: true }, crm: { ...source, jobs: { contacts: { schedule: '0 0 1 1 *' } } } } },
  'test config',
)

let fixture: RelayFixture
afterEach(() => fixture.close())

describe('pullLeases', () => {
  it('grants the forwarded body only where the source forwards it, with the last event\'s name', async () => {
    fixture = createRelayFixture(config)
    await fixture.ingest('shop', 'a')
    await fixture.ingest('crm', 'b')
    const leases = await fixture.pull(2)
    const shop = leases.find((grant) => grant.source === 'shop')!
    const crm = leases.find((grant) => grant.source === 'crm')!
    expect(shop.payload).toMatchObject({ id: 'a', type: 'customer.updated' })
    expect(shop.event).toBe('customer.updated')
    expect('payload' in crm).toBe(false)
  })

  it('never grants more than asked, however much is waiting, across several receives', async () => {
    fixture = createRelayFixture(config)
    await fixture.ingest('crm', ...Array.from({ length: 30 }, (_, index) => `r${index}`))
    const { leases } = await pullLeases(fixture.deps, AGENT, { max: 25, waitSeconds: 0 })
    expect(leases).toHaveLength(25)
    expect(new Set(leases.map((grant) => grant.recordId)).size).toBe(25)
    expect((await pullLeases(fixture.deps, AGENT, { max: 25, waitSeconds: 0 })).leases).toHaveLength(5)
  })

  it('answers without an acks list when the pull carried none', async () => {
    fixture = createRelayFixture(config)
    await fixture.ingest('crm', 'a')
    const answer = await pullLeases(fixture.deps, AGENT, { max: 1, waitSeconds: 0, acks: [] })
    expect(answer.leases).toHaveLength(1)
    expect('acks' in answer).toBe(false)
  })

  it('ends a long poll when the server shuts down', async () => {
    fixture = createRelayFixture(config)
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(), 200)
    const { leases } = await pullLeases({ ...fixture.deps, signal: controller.signal }, AGENT, { max: 1, waitSeconds: 10 })
    expect(leases).toEqual([])
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('dead-letters a request whose leases expired with its attempts, deleting its message, and says so', async () => {
    fixture = createRelayFixture(config)
    fixture.setNow(new Date('2031-03-01T12:00:00.000Z'))
    await fixture.ingest('crm', 'a')
    const [first] = (await pullLeases(fixture.deps, AGENT, { max: 1, waitSeconds: 0, leaseSeconds: 1 })).leases
    expect(first).toBeDefined()
    // The message comes back after the lease plus the queue's margin (real time); the ledger's lease has expired.
    fixture.setNow(new Date('2031-03-01T12:01:00.000Z'))
    await new Promise((resolve) => setTimeout(resolve, 3_200))
    expect((await pullLeases(fixture.deps, AGENT, { max: 1, waitSeconds: 1 })).leases).toEqual([])
    expect(await fixture.deps.ledger.getRequest(first!.requestId)).toMatchObject({ state: 'dead', lastError: { code: 'lease.expired' } })
    expect(fixture.logs.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([{ level: 'warn', message: 'request dead-lettered: attempts used up by expired leases', fields: { requestId: first!.requestId } }])
    expect(fixture.counts.get('RequestsDeadLettered')).toBe(1)
    expect(await fixture.deps.queue.receive({ maxMessages: 10, waitSeconds: 0, visibilitySeconds: 30 })).toEqual([])
  }, 20_000)
})

describe('ackLeases', () => {
  it('records a done note on the closed attempt', async () => {
    fixture = createRelayFixture(config)
    await fixture.ingest('crm', 'a')
    const [grant] = await fixture.pull(1)
    expect((await ackLeases(fixture.deps, AGENT, [{ lease: grant!.lease, outcome: 'done', note: 'unchanged' }])).results[0]).toMatchObject({ status: 'ok' })
    expect((await fixture.deps.ledger.getRequest(grant!.requestId))?.history).toEqual([expect.objectContaining({ outcome: 'done', error: { message: 'unchanged' } })])
  })

  it('reports a finished sync run: its records and duration per job', async () => {
    fixture = createRelayFixture(config)
    const ref = findJob(config, 'crm', 'contacts')!
    const { requestId } = await triggerRun(fixture.deps, ref, { mode: 'incremental', trigger: 'admin' })
    const [grant] = await fixture.pull(1)
    expect(grant?.requestId).toBe(requestId)
    const sync = { counts: { ...ZERO_COUNTS, read: 12, written: 10 }, errors: [], promote: true }
    await ackLeases(fixture.deps, AGENT, [{ lease: grant!.lease, outcome: 'done', sync }])
    expect(fixture.gauges.get('SyncRunRecordsRead')).toBe(12)
    expect(fixture.gauges.get('SyncRunRecordsWritten')).toBe(10)
    expect(fixture.logs).toContainEqual(expect.objectContaining({ level: 'info', message: 'sync crm/contacts: run done: 12 read, 10 written, 0 rejected' }))
  })
})

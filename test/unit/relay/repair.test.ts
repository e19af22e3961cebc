import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { WorkQueue } from '../../../lib/ports/queue.ts'
import type { RelayDeps } from '../../../lib/relay/deps.ts'
import { ingestWebhook } from '../../../lib/relay/ingest.ts'
import { encodeWorkMessage } from '../../../lib/relay/queue-message.ts'
import { UNSENT_GRACE_IN_SECONDS, handleRedrivenMessage, repairStuckRequests } from '../../../lib/relay/repair.ts'
import { createRelayFixture, type RelayFixture } from '../admin/relay-fixture.ts'

/**
 * The repair sweep and the redrive handler as an operator sees them (SQLite in memory): the
 * batches sent to the queue (SQS takes at most 10 messages a call), the log lines and metrics.
 */
let fixture: RelayFixture
afterEach(() => fixture.close())

/** Ingests one webhook per record id whose enqueue fails after the ledger write: unsent requests. */
async function ingestUnsent(ids: string[]): Promise<void> {
  const queue: WorkQueue = { ...fixture.deps.queue, send: () => Promise.reject(new Error('queue unavailable')) }
  for (const id of ids) {
    const webhook = { source: 'shop', headers: { 'content-type': 'application/json' }, query: {}, rawBody: Buffer.from(JSON.stringify({ id, type: 'customer.updated' })) }
    await ingestWebhook({ ...fixture.deps, queue }, webhook).catch(() => undefined)
  }
}

describe('repairStuckRequests', () => {
  it('re-sends stuck work in batches of at most 10, logs the count with the first 20 ids, and reports the gauge', async () => {
    fixture = createRelayFixture()
    const ids = Array.from({ length: 25 }, (_, index) => `stuck-${index}`)
    await ingestUnsent(ids)
    fixture.setNow(new Date(fixture.deps.now().getTime() + (UNSENT_GRACE_IN_SECONDS + 1) * 1000))
    const batches: number[] = []
    const real = fixture.deps.queue
    const deps: RelayDeps = { ...fixture.deps, queue: { ...real, send: (entries) => (batches.push(entries.length), real.send(entries)) } }

    expect(await repairStuckRequests(deps)).toEqual({ resent: 25 })
    expect(batches).toEqual([10, 10, 5])
    expect(fixture.gauges.get('RepairedRequests')).toBe(25)
    const warning = fixture.logs.find((line) => line.message === 're-sending messages for stuck requests')
    expect(warning?.fields?.count).toBe(25)
    const logged = warning?.fields?.requestIds as string[]
    expect(logged).toHaveLength(20)
    const leases = await fixture.pull(30)
    expect(leases.map((grant) => grant.recordId).sort()).toEqual([...ids].sort())
    expect(logged.every((id) => leases.some((grant) => grant.requestId === id))).toBe(true)
  })

  it('reports a zero gauge and logs nothing when nothing is stuck', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'fine')
    fixture.setNow(new Date(fixture.deps.now().getTime() + 86_400_000))
    expect(await repairStuckRequests(fixture.deps)).toEqual({ resent: 0 })
    expect(fixture.gauges.get('RepairedRequests')).toBe(0)
    expect(fixture.logs).toEqual([])
  })
})

describe('handleRedrivenMessage', () => {
  it('dead-letters the request, says so with its receive count and counts it', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'poison')
    const [lease] = await fixture.pull(1)
    const body = encodeWorkMessage({ requestId: lease!.requestId, recordKey: (await fixture.deps.ledger.getRequest(lease!.requestId))!.recordKey })
    expect(await handleRedrivenMessage(fixture.deps, { body, receiveCount: 15, messageId: randomUUID() })).toBe(true)
    expect(fixture.logs).toContainEqual({ level: 'warn', message: 'request dead-lettered by queue redrive', fields: { requestId: lease!.requestId, receiveCount: 15 } })
    expect(fixture.counts.get('RequestsDeadLettered')).toBe(1)
    // A second redrive of the same message changes nothing and counts nothing.
    await handleRedrivenMessage(fixture.deps, { body, receiveCount: 16, messageId: randomUUID() })
    expect(fixture.counts.get('RequestsDeadLettered')).toBe(1)
  })

  it('logs at most 200 characters of a message it did not write', async () => {
    fixture = createRelayFixture()
    const body = 'x'.repeat(300)
    expect(await handleRedrivenMessage(fixture.deps, { body, receiveCount: 3, messageId: 'm-1' })).toBe(true)
    expect(fixture.logs).toEqual([{ level: 'error', message: 'dead-letter queue holds a message hookferry did not write; dropping it', fields: { messageId: 'm-1', body: 'x'.repeat(200) } }])
  })
})

describe('the repair gauge', () => {
  it('is a count', async () => {
    fixture = createRelayFixture()
    const gauges: { name: string; value: number; unit?: string }[] = []
    await repairStuckRequests({ ...fixture.deps, metrics: { count() {}, gauge: (name, value, unit) => void gauges.push({ name, value, ...(unit ? { unit } : {}) }) } })
    expect(gauges).toEqual([{ name: 'RepairedRequests', value: 0, unit: 'Count' }])
  })
})

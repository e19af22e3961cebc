import { randomUUID } from 'node:crypto'
import { describe, expect, it, type TestContext } from 'vitest'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import type { WorkQueue } from '../../lib/ports/queue.ts'
import { ackLeases, pullLeases } from '../../lib/relay/agent-service.ts'
import type { Log, RelayDeps } from '../../lib/relay/deps.ts'
import { ingestWebhook } from '../../lib/relay/ingest.ts'
import { decodeLease } from '../../lib/relay/lease-token.ts'
import { encodeWorkMessage } from '../../lib/relay/queue-message.ts'
import { EXPIRED_LEASE_GRACE_IN_SECONDS, UNSENT_GRACE_IN_SECONDS, handleRedrivenMessage, repairStuckRequests } from '../../lib/relay/repair.ts'
import { recordKeyOf } from '../../lib/relay/types.ts'
import { relayFamilies } from './relay-families.ts'

/**
 * The repair sweep (invariants 1 and 4): the ledger holds work the queue may have lost — an
 * enqueue that failed after the ledger write, a message gone while its lease ran out — and the
 * sweep sends it again. Both runtimes; the relay's clock is moved by hand, the queue's is real.
 */
const config = parseWithSchema(
  serverConfigSchema,
  { sources: { crm: { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id', event: 'body.type' }, maxAttempts: 3 } } },
  'repair test config',
)

interface Recorded {
  relay: RelayDeps
  advance(seconds: number): void
  gauges: Map<string, number>
  warnings: { message: string; fields?: Record<string, unknown> }[]
  errors: string[]
}

const webhook = (id: string) => ({
  source: 'crm',
  query: {},
  headers: { 'content-type': 'application/json' },
  rawBody: Buffer.from(JSON.stringify({ id, type: 'customer.updated', nonce: randomUUID() })),
})

/** A queue whose sends fail: the enqueue after the ledger write is lost. */
const failingSends = (queue: WorkQueue): WorkQueue => ({
  send: async () => {
    throw new Error('queue unavailable')
  },
  receive: (options) => queue.receive(options),
  delete: (receipt) => queue.delete(receipt),
  changeVisibility: (receipt, seconds) => queue.changeVisibility(receipt, seconds),
})

/** The one request the ledger holds for record `id` of crm. */
async function requestOf(relay: RelayDeps, id: string) {
  const page = await relay.ledger.listRequests({ recordId: id })
  expect(page.items).toHaveLength(1)
  return page.items[0]!
}

describe.concurrent.each(relayFamilies)('repair sweep on $name', (family) => {
  const setup = async (context: TestContext): Promise<Recorded> => {
    const harness = await family.create(config)
    context.onTestFinished(() => harness.close())
    const gauges = new Map<string, number>()
    const warnings: Recorded['warnings'] = []
    const errors: string[] = []
    const log: Log = { debug() {}, info() {}, warn: (message, fields) => void warnings.push({ message, ...(fields ? { fields } : {}) }), error: (message) => void errors.push(message) }
    const relay: RelayDeps = { ...harness.deps, log, metrics: { count() {}, gauge: (name, value) => void gauges.set(name, value) } }
    return { relay, advance: harness.clock.advance, gauges, warnings, errors }
  }
  /** Nothing to lease within a real window (a message just sent would be received in it). */
  const expectNothingToLease = async (relay: RelayDeps) => expect((await pullLeases(relay, 'agent-1', { max: 10, waitSeconds: 2 })).leases).toEqual([])

  it('re-sends a queued request whose message was never sent, once the grace has passed, and then no more', async (context) => {
    const { relay, advance, gauges, warnings } = await setup(context)
    await expect(ingestWebhook({ ...relay, queue: failingSends(relay.queue) }, webhook('lost'))).rejects.toMatchObject({ statusCode: 503 })
    const stuck = await requestOf(relay, 'lost')
    expect(stuck).toMatchObject({ state: 'queued' })
    expect(stuck.sentAt).toBeUndefined()

    // Within the grace an enqueue may still be under way: the sweep leaves it.
    advance(UNSENT_GRACE_IN_SECONDS)
    expect(await repairStuckRequests(relay)).toEqual({ resent: 0 })
    expect(gauges.get('RepairedRequests')).toBe(0)
    await expectNothingToLease(relay)

    advance(1)
    expect(await repairStuckRequests(relay)).toEqual({ resent: 1 })
    expect(gauges.get('RepairedRequests')).toBe(1)
    expect(warnings).toEqual([{ message: 're-sending messages for stuck requests', fields: { count: 1, requestIds: [stuck.id] } }])
    expect((await relay.ledger.getRequest(stuck.id))?.sentAt).toBeDefined()
    const { leases } = await pullLeases(relay, 'agent-1', { max: 10, waitSeconds: 5 })
    expect(leases.map((lease) => ({ requestId: lease.requestId, recordId: lease.recordId, attempt: lease.attempt }))).toEqual([{ requestId: stuck.id, recordId: 'lost', attempt: 1 }])

    // Marked sent and now leased: a later sweep has nothing to do.
    advance(UNSENT_GRACE_IN_SECONDS + 1)
    expect(await repairStuckRequests(relay)).toEqual({ resent: 0 })
    expect((await ackLeases(relay, 'agent-1', [{ lease: leases[0]!.lease, outcome: 'done' }])).results[0]!.status).toBe('ok')
  })

  it('leaves queued requests whose message was sent, however long they wait', async (context) => {
    const { relay, advance } = await setup(context)
    expect((await ingestWebhook(relay, webhook('waiting'))).statusCode).toBe(202)
    expect((await requestOf(relay, 'waiting')).sentAt).toBeDefined()
    advance(86_400)
    expect(await repairStuckRequests(relay)).toEqual({ resent: 0 })
  })

  it('re-sends the work of a lease that expired long ago and whose message was lost', async (context) => {
    const { relay, advance } = await setup(context)
    expect((await ingestWebhook(relay, webhook('crashed'))).statusCode).toBe(202)
    const first = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 5, leaseSeconds: 30 })
    expect(first.leases).toHaveLength(1)
    // The agent crashed, and the queue lost the message too.
    await relay.queue.delete(decodeLease(first.leases[0]!.lease).receipt)

    advance(30 + EXPIRED_LEASE_GRACE_IN_SECONDS)
    expect(await repairStuckRequests(relay)).toEqual({ resent: 0 })
    advance(1)
    expect(await repairStuckRequests(relay)).toEqual({ resent: 1 })

    const second = await pullLeases(relay, 'agent-2', { max: 1, waitSeconds: 5 })
    expect(second.leases.map((lease) => [lease.requestId, lease.attempt])).toEqual([[first.leases[0]!.requestId, 2]])
    const request = await relay.ledger.getRequest(first.leases[0]!.requestId)
    expect(request?.history.map((attempt) => [attempt.agentId, attempt.outcome])).toEqual([['agent-1', 'lease_expired'], ['agent-2', undefined]])
  })

  it('leaves a live lease alone, however old it is', async (context) => {
    const { relay, advance } = await setup(context)
    expect((await ingestWebhook(relay, webhook('slow'))).statusCode).toBe(202)
    const { leases } = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 5, leaseSeconds: 3_600 })
    expect(leases).toHaveLength(1)
    advance(3_500)
    expect(await repairStuckRequests(relay)).toEqual({ resent: 0 })
    expect(await relay.ledger.getRequest(leases[0]!.requestId)).toMatchObject({ state: 'leased', attempts: 1 })
  })

  it('leaves finished and dead-lettered requests alone', async (context) => {
    const { relay, advance } = await setup(context)
    for (const id of ['done', 'dead']) expect((await ingestWebhook(relay, webhook(id))).statusCode).toBe(202)
    const { leases } = await pullLeases(relay, 'agent-1', { max: 2, waitSeconds: 5 })
    expect(leases).toHaveLength(2)
    const byRecord = new Map(leases.map((lease) => [lease.recordId, lease.lease]))
    // An event while "done" is processed makes a deferred follow-up; it is queued (and sent) at the ack.
    expect((await ingestWebhook(relay, webhook('done'))).statusCode).toBe(202)
    await ackLeases(relay, 'agent-1', [
      { lease: byRecord.get('dead')!, outcome: 'fail', error: { code: 'sink.rejected', message: 'no' } },
      { lease: byRecord.get('done')!, outcome: 'done' },
    ])
    const followUp = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 5 })
    await ackLeases(relay, 'agent-1', [{ lease: followUp.leases[0]!.lease, outcome: 'done' }])
    advance(86_400)
    expect(await repairStuckRequests(relay)).toEqual({ resent: 0 })
  })

  it('walks every page of stuck requests', async (context) => {
    const { relay, advance } = await setup(context)
    // More than one page (500) of requests whose enqueue failed.
    const lossy = { ...relay, queue: failingSends(relay.queue) }
    const ids = Array.from({ length: 505 }, (_, index) => `bulk-${index}`)
    for (let index = 0; index < ids.length; index += 50) {
      await Promise.all(ids.slice(index, index + 50).map((id) => ingestWebhook(lossy, webhook(id)).catch(() => undefined)))
    }
    advance(UNSENT_GRACE_IN_SECONDS + 1)
    expect(await repairStuckRequests(relay)).toEqual({ resent: ids.length })
    const unsent: string[] = []
    let cursor: string | undefined
    do {
      const page = await relay.ledger.listRequests({ state: 'queued', limit: 1000, ...(cursor ? { cursor } : {}) })
      unsent.push(...page.items.filter((request) => !request.sentAt).map((request) => request.recordId))
      cursor = page.cursor
    } while (cursor)
    expect(unsent).toEqual([])
    expect(await repairStuckRequests(relay)).toEqual({ resent: 0 })
  }, 60_000)
})

describe.concurrent.each(relayFamilies)('a message redriven to the dead-letter queue, on $name', (family) => {
  const setup = async (context: TestContext) => {
    const harness = await family.create(config)
    context.onTestFinished(() => harness.close())
    return harness.deps
  }
  const redriven = (requestId: string, recordKey: string, receiveCount = 15) => ({ body: encodeWorkMessage({ requestId, recordKey }), receiveCount, messageId: randomUUID() })

  it('dead-letters its waiting request with the reason, where it can be listed and replayed', async (context) => {
    const relay = await setup(context)
    expect((await ingestWebhook(relay, webhook('poison'))).statusCode).toBe(202)
    const request = await requestOf(relay, 'poison')
    expect(await handleRedrivenMessage(relay, redriven(request.id, request.recordKey, 15))).toBe(true)
    expect(await relay.ledger.getRequest(request.id)).toMatchObject({
      state: 'dead',
      lastError: { code: 'queue.redriven', message: 'the queue gave up after 15 receives without completion' },
    })
    expect((await relay.ledger.listRequests({ state: 'dead' })).items.map((item) => item.id)).toEqual([request.id])
    expect(await relay.ledger.getRecord(request.recordKey)).toMatchObject({ state: 'idle' })
  })

  it('sends the follow-up of a leased request that had events waiting', async (context) => {
    const relay = await setup(context)
    expect((await ingestWebhook(relay, webhook('busy'))).statusCode).toBe(202)
    const { leases } = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 5 })
    const followUpId = (JSON.parse((await ingestWebhook(relay, webhook('busy'))).body) as { requests: string[] }).requests[0]!
    expect(await relay.ledger.getRequest(followUpId)).toMatchObject({ state: 'deferred' })

    await handleRedrivenMessage(relay, redriven(leases[0]!.requestId, recordKeyOf('crm', 'busy')))
    expect(await relay.ledger.getRequest(leases[0]!.requestId)).toMatchObject({ state: 'dead', lastError: { code: 'queue.redriven' } })
    const next = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 5 })
    expect(next.leases.map((lease) => lease.requestId)).toEqual([followUpId])
  })

  it('leaves a finished request as it is', async (context) => {
    const relay = await setup(context)
    expect((await ingestWebhook(relay, webhook('finished'))).statusCode).toBe(202)
    const { leases } = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 5 })
    await ackLeases(relay, 'agent-1', [{ lease: leases[0]!.lease, outcome: 'done' }])
    expect(await handleRedrivenMessage(relay, redriven(leases[0]!.requestId, recordKeyOf('crm', 'finished')))).toBe(true)
    expect(await relay.ledger.getRequest(leases[0]!.requestId)).toMatchObject({ state: 'done' })
  })

  it('drops a message hookferry did not write, saying so', async (context) => {
    const relay = await setup(context)
    const errors: { message: string; fields?: Record<string, unknown> }[] = []
    const log: Log = { ...relay.log, error: (message, fields) => void errors.push({ message, ...(fields ? { fields } : {}) }) }
    expect(await handleRedrivenMessage({ ...relay, log }, { body: 'not ours', receiveCount: 3, messageId: 'm-1' })).toBe(true)
    expect(errors).toEqual([{ message: 'dead-letter queue holds a message hookferry did not write; dropping it', fields: { messageId: 'm-1', body: 'not ours' } }])
  })
})

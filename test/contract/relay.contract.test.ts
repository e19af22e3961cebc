import { randomUUID } from 'node:crypto'
import { describe, expect, it, type TestContext } from 'vitest'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import { DynamoLedger } from '../../lib/ports/aws/dynamo-ledger.ts'
import { SqsWorkQueue } from '../../lib/ports/aws/sqs-queue.ts'
import { SqliteLedger } from '../../lib/ports/local/sqlite-ledger.ts'
import { SqliteWorkQueue } from '../../lib/ports/local/sqlite-queue.ts'
import type { WorkQueue } from '../../lib/ports/queue.ts'
import { ackLeases, pullLeases } from '../../lib/relay/agent-service.ts'
import { noMetrics, silentLog, type RelayDeps } from '../../lib/relay/deps.ts'
import { ingestWebhook } from '../../lib/relay/ingest.ts'
import { signWebhook } from '../../lib/sources/sign.ts'
import { createDynamoTable, openTempSqlite, startSqs } from '../support/emulators.ts'
import { selectedFamilies } from '../support/families.ts'

/**
 * The relay's invariants (1–3) through the real core, on both adapter families: the same
 * ingest and agent-service code over SQS + DynamoDB (emulators) and over SQLite.
 */
const config = parseWithSchema(
  serverConfigSchema,
  {
    sources: {
      crm: {
        verify: { scheme: 'hmac', header: 'x-signature', secrets: ['s3cret'] },
        extract: { recordId: 'body.ids', event: 'body.event', deliveryId: 'body.delivery' },
        maxAttempts: 2,
      },
    },
  },
  'test config',
)

interface Family {
  name: string
  create(): Promise<{ deps: RelayDeps; close(): Promise<void> }>
}

const deps = (ledger: RelayDeps['ledger'], queue: WorkQueue): RelayDeps => ({
  config,
  ledger,
  queue,
  log: silentLog,
  metrics: noMetrics,
  now: () => new Date(),
  newId: randomUUID,
  random: Math.random,
})

const families: Family[] = selectedFamilies([
  {
    name: 'aws (fauxqs + DynamoDB Local)',
    create: async () => {
      const [sqs, table] = await Promise.all([startSqs({ maxReceiveCount: 15 }), createDynamoTable()])
      return {
        deps: deps(new DynamoLedger({ tableName: table.tableName, client: table.client }), new SqsWorkQueue({ queueUrl: sqs.queueUrl, client: sqs.client })),
        close: async () => {
          await Promise.all([sqs.stop(), table.drop()])
        },
      }
    },
  },
  {
    name: 'local (node:sqlite)',
    create: async () => {
      const sqlite = openTempSqlite()
      return {
        deps: deps(new SqliteLedger({ db: sqlite.db }), new SqliteWorkQueue({ db: sqlite.db, queueName: 'work', maxReceiveCount: 15, deadLetterQueueName: 'dead' })),
        close: async () => sqlite.cleanup(),
      }
    },
  },
])

const webhook = (body: Record<string, unknown>) => {
  const rawBody = Buffer.from(JSON.stringify({ delivery: randomUUID(), event: 'updated', ...body }))
  return {
    source: 'crm',
    query: {},
    rawBody,
    headers: { 'content-type': 'application/json', ...signWebhook(config.sources.crm!.verify, rawBody, { now: new Date() }) },
  }
}
/**
 * Nothing is leased within a real window: a long poll, which a message sent (or made visible) in
 * that time ends at once. A poll of 0 s would also pass for a message that is not visible yet.
 */
const expectNothingLeased = async (relay: RelayDeps, agentId: string) => expect((await pullLeases(relay, agentId, { max: 10, waitSeconds: 2 })).leases).toEqual([])
const accepted = (reply: { statusCode: number; body: string }) => {
  expect(reply.statusCode).toBe(202)
  return JSON.parse(reply.body) as { accepted: number; requests: string[] }
}

describe.concurrent.each(families)('relay on $name', (family) => {
  // Concurrent tests: each closes its own harness when it finishes.
  const setup = async (context: TestContext) => {
    const harness = await family.create()
    context.onTestFinished(() => harness.close())
    return harness.deps
  }

  it('accepts a webhook, leases it to an agent and completes it on ack', async (context) => {
    const relay = await setup(context)
    const { requests } = accepted(await ingestWebhook(relay, webhook({ ids: ['42'] })))
    const { leases } = await pullLeases(relay, 'agent-1', { max: 10, waitSeconds: 2 })
    expect(leases).toHaveLength(1)
    expect(leases[0]).toMatchObject({ requestId: requests[0], recordId: '42', attempt: 1, event: 'updated' })
    const { results } = await ackLeases(relay, 'agent-1', [{ lease: leases[0]!.lease, outcome: 'done' }])
    expect(results[0]).toMatchObject({ status: 'ok' })
    expect(await relay.ledger.getRequest(requests[0]!)).toMatchObject({ state: 'done' })
    await expectNothingLeased(relay, 'agent-1')
  })

  it('records acks riding on a pull before it leases, answers their results, and gathers more than one receive', async (context) => {
    const relay = await setup(context)
    const ids = Array.from({ length: 25 }, (_, n) => `r${n}`)
    const { requests } = accepted(await ingestWebhook(relay, webhook({ ids })))
    const first = await pullLeases(relay, 'agent-1', { max: 3, waitSeconds: 2 })
    expect(first.leases).toHaveLength(3)
    expect(first.acks).toBeUndefined()
    // 22 left: more than one queue receive (10 at most each) serves a pull for 30.
    const acks = [{ lease: first.leases[0]!.lease, outcome: 'done' as const }, { lease: first.leases[1]!.lease, outcome: 'retry' as const, delaySeconds: 60, error: { message: 'later' } }, { lease: 'garbage', outcome: 'done' as const }]
    const second = await pullLeases(relay, 'agent-1', { max: 30, waitSeconds: 0, acks })
    expect(second.acks).toEqual([
      expect.objectContaining({ lease: first.leases[0]!.lease, status: 'ok' }),
      expect.objectContaining({ lease: first.leases[1]!.lease, status: 'ok', nextAttemptAt: expect.any(String) }),
      { lease: 'garbage', status: 'invalid_lease' },
    ])
    const done = requests.find((id) => id === first.leases[0]!.requestId)!
    expect(await relay.ledger.getRequest(done)).toMatchObject({ state: 'done' })
    const leased = new Set([...first.leases, ...second.leases].map((lease) => lease.recordId))
    expect(second.leases).toHaveLength(22)
    expect(leased).toEqual(new Set(ids))
  })

  it('answers a repeated delivery id as a duplicate', async (context) => {
    const relay = await setup(context)
    const hook = webhook({ ids: ['7'] })
    accepted(await ingestWebhook(relay, hook))
    const again = await ingestWebhook(relay, hook)
    expect(again.statusCode).toBe(200)
    expect(JSON.parse(again.body)).toEqual({ duplicate: true })
  })

  it('coalesces many concurrent events for one record into one queued request', async (context) => {
    const relay = await setup(context)
    const replies = await Promise.all(Array.from({ length: 20 }, () => ingestWebhook(relay, webhook({ ids: ['same'] }))))
    const ids = new Set(replies.map((reply) => accepted(reply).requests[0]))
    expect(ids.size).toBe(1)
    const { leases } = await pullLeases(relay, 'agent-1', { max: 10, waitSeconds: 1 })
    expect(leases).toHaveLength(1)
    expect(leases[0]!.eventCount).toBe(20)
    await expectNothingLeased(relay, 'agent-1')
  })

  it('turns events during processing into exactly one more fetch afterwards', async (context) => {
    const relay = await setup(context)
    accepted(await ingestWebhook(relay, webhook({ ids: ['r1'] })))
    const first = await pullLeases(relay, 'agent-1', { max: 10, waitSeconds: 2 })
    const answers = await Promise.all(Array.from({ length: 10 }, () => ingestWebhook(relay, webhook({ ids: ['r1'] }))))
    // Every 202 names the follow-up request, which exists (deferred) and can be looked up at once.
    const named = new Set(answers.map((answer) => (JSON.parse(answer.body) as { requests: string[] }).requests[0]))
    expect(named.size).toBe(1)
    const followUp = [...named][0]!
    expect(followUp).not.toBe(first.leases[0]!.requestId)
    expect(await relay.ledger.getRequest(followUp)).toMatchObject({ state: 'deferred', eventCount: 10 })
    // Never two in flight for one record: nothing else may be leased while the first runs.
    await expectNothingLeased(relay, 'agent-2')
    await ackLeases(relay, 'agent-1', [{ lease: first.leases[0]!.lease, outcome: 'done' }])
    const second = await pullLeases(relay, 'agent-1', { max: 10, waitSeconds: 2 })
    expect(second.leases).toHaveLength(1)
    expect(second.leases[0]).toMatchObject({ requestId: followUp, recordId: 'r1', eventCount: 10 })
    await ackLeases(relay, 'agent-1', [{ lease: second.leases[0]!.lease, outcome: 'done' }])
    await expectNothingLeased(relay, 'agent-1')
  })

  it('answers 503 when the queue fails, and does not swallow the provider\'s retry as a duplicate', async (context) => {
    const relay = await setup(context)
    let failNext = true
    const flaky: WorkQueue = {
      ...relay.queue,
      receive: (options) => relay.queue.receive(options),
      delete: (receipt) => relay.queue.delete(receipt),
      changeVisibility: (receipt, seconds) => relay.queue.changeVisibility(receipt, seconds),
      send: async (entries) => {
        if (failNext) {
          failNext = false
          throw new Error('queue unavailable')
        }
        return relay.queue.send(entries)
      },
    }
    const hook = webhook({ ids: ['x'] })
    await expect(ingestWebhook({ ...relay, queue: flaky }, hook)).rejects.toMatchObject({ statusCode: 503, code: 'storage.unavailable' })
    const { requests } = accepted(await ingestWebhook({ ...relay, queue: flaky }, hook))
    const { leases } = await pullLeases(relay, 'agent-1', { max: 10, waitSeconds: 2 })
    expect(leases.map((lease) => lease.requestId)).toEqual(requests)
  })

  it('retries with a delay and dead-letters after the attempt limit with the last error', async (context) => {
    const relay = await setup(context)
    const { requests } = accepted(await ingestWebhook(relay, webhook({ ids: ['d'] })))
    for (let attempt = 1; attempt <= 2; attempt++) {
      const { leases } = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 3 })
      expect(leases[0]).toMatchObject({ requestId: requests[0], attempt })
      const { results } = await ackLeases(relay, 'agent-1', [{ lease: leases[0]!.lease, outcome: 'retry', delaySeconds: 0, error: { code: 'sink.down', message: `refused #${attempt}` } }])
      expect(results[0]!.status).toBe(attempt === 2 ? 'dead_lettered' : 'ok')
    }
    const dead = await relay.ledger.listRequests({ state: 'dead', source: 'crm' })
    expect(dead.items.map((request) => request.id)).toEqual(requests)
    expect(dead.items[0]!.lastError?.message).toContain('refused #2')
  })

  it('rejects an ack from an agent that does not hold the lease', async (context) => {
    const relay = await setup(context)
    accepted(await ingestWebhook(relay, webhook({ ids: ['z'] })))
    const { leases } = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 2 })
    const { results } = await ackLeases(relay, 'intruder', [{ lease: leases[0]!.lease, outcome: 'done' }, { lease: 'garbage', outcome: 'done' }])
    expect(results.map((result) => result.status)).toEqual(['lease_lost', 'invalid_lease'])
  })

  it('redelivers the work of a crashed agent once its lease expires', async (context) => {
    const relay = await setup(context)
    accepted(await ingestWebhook(relay, webhook({ ids: ['crash'] })))
    const first = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 2, leaseSeconds: 5 })
    // agent-1 "crashes": it never acks. After the lease (+ the queue's margin) the work comes back.
    const second = await pullLeases(relay, 'agent-2', { max: 1, waitSeconds: 12, leaseSeconds: 30 })
    expect(second.leases[0]).toMatchObject({ requestId: first.leases[0]!.requestId, attempt: 2 })
    const late = await ackLeases(relay, 'agent-1', [{ lease: first.leases[0]!.lease, outcome: 'done' }])
    expect(late.results[0]!.status).toBe('lease_lost')
    expect((await ackLeases(relay, 'agent-2', [{ lease: second.leases[0]!.lease, outcome: 'done' }])).results[0]!.status).toBe('ok')
  })
  it('gives a restarted agent the leases of its previous process at once, and refuses the dead process\'s late ack', async (context) => {
    const relay = await setup(context)
    const { requests } = accepted(await ingestWebhook(relay, webhook({ ids: ['restart'] })))
    const before = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 2, leaseSeconds: 60, incarnation: '1000-first' })
    expect(before.leases[0]).toMatchObject({ requestId: requests[0], attempt: 1 })
    // Same agent id, a newer process: no 60 s wait for the lease.
    const startedAt = Date.now()
    const after = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 5, leaseSeconds: 60, incarnation: '2000-second' })
    expect(Date.now() - startedAt).toBeLessThan(4_000)
    expect(after.leases[0]).toMatchObject({ requestId: requests[0], attempt: 2 })
    expect((await relay.ledger.getRequest(requests[0]!))!.history[0]).toMatchObject({ outcome: 'lease_expired', error: { code: 'lease.taken_over' } })
    const late = await ackLeases(relay, 'agent-1', [{ lease: before.leases[0]!.lease, outcome: 'done' }])
    expect(late.results[0]!.status).toBe('lease_lost')
    // The older process pulling again takes nothing back from the newer one.
    await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 0, incarnation: '1000-first' })
    expect((await ackLeases(relay, 'agent-1', [{ lease: after.leases[0]!.lease, outcome: 'done' }])).results[0]!.status).toBe('ok')
  })

  it('holds a released request back for its delay without counting the attempt (an outage of the far side)', async (context) => {
    const relay = await setup(context)
    const { requests } = accepted(await ingestWebhook(relay, webhook({ ids: ['held'] })))
    const first = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 2 })
    const released = await ackLeases(relay, 'agent-1', [{ lease: first.leases[0]!.lease, outcome: 'release', delaySeconds: 3, error: { code: 'agent.network_error', message: 'ECONNREFUSED' } }])
    expect(released.results[0]).toMatchObject({ status: 'ok', nextAttemptAt: expect.any(String) })
    expect(await relay.ledger.getRequest(requests[0]!)).toMatchObject({ state: 'queued', attempts: 0, history: [expect.objectContaining({ outcome: 'released', error: { code: 'agent.network_error', message: 'ECONNREFUSED' } })] })
    expect((await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 1 })).leases).toEqual([])
    const again = await pullLeases(relay, 'agent-1', { max: 1, waitSeconds: 6 })
    expect(again.leases[0]).toMatchObject({ requestId: requests[0], attempt: 1 })
  })
})

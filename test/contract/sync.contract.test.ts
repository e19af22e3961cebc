import { randomUUID } from 'node:crypto'
import { describe, expect, it, type TestContext } from 'vitest'
import { cancelRun } from '../../lib/admin/sync-admin.ts'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import { DynamoLedger } from '../../lib/ports/aws/dynamo-ledger.ts'
import { SqsWorkQueue } from '../../lib/ports/aws/sqs-queue.ts'
import { SqliteLedger } from '../../lib/ports/local/sqlite-ledger.ts'
import { SqliteWorkQueue } from '../../lib/ports/local/sqlite-queue.ts'
import type { WorkQueue } from '../../lib/ports/queue.ts'
import type { LeaseGrant, SyncProgress } from '../../lib/relay/agent-api.ts'
import { ackLeases, pullLeases } from '../../lib/relay/agent-service.ts'
import { noMetrics, silentLog, type RelayDeps } from '../../lib/relay/deps.ts'
import { jobRecordKey } from '../../lib/relay/sync/run-decisions.ts'
import { checkpointLease, findJob, scheduleDueRuns, triggerRun } from '../../lib/relay/sync/sync-service.ts'
import { ZERO_COUNTS, type SyncRunSpec } from '../../lib/relay/sync-types.ts'
import { createDynamoTable, openTempSqlite, startSqs } from '../support/emulators.ts'
import { selectedFamilies } from '../support/families.ts'

/**
 * Scheduled sync runs through the real core on both adapter families: a run is an execute
 * request whose record is the job, so leases, fencing and one-in-flight come from the ledger.
 */
const config = parseWithSchema(
  serverConfigSchema,
  {
    sources: {
      crm: {
        verify: { scheme: 'hmac', header: 'x-signature', secrets: ['s3cret'] },
        extract: { recordId: 'body.id' },
        jobs: { contacts: { schedule: '*/5 * * * *', lagSeconds: 30, maxAttempts: 3 } },
      },
    },
  },
  'test config',
)
const JOB = findJob(config, 'crm', 'contacts')!

interface Relay {
  deps: RelayDeps
  /** Moves the relay's clock (the queue keeps real time). */
  advance(seconds: number): void
}

function relayOn(ledger: RelayDeps['ledger'], queue: WorkQueue): Relay {
  let offset = 0
  return {
    deps: { config, ledger, queue, log: silentLog, metrics: noMetrics, now: () => new Date(Date.now() + offset), newId: randomUUID, random: Math.random },
    advance: (seconds) => void (offset += seconds * 1000),
  }
}

const families = selectedFamilies([
  {
    name: 'aws (fauxqs + DynamoDB Local)',
    create: async () => {
      const [sqs, table] = await Promise.all([startSqs({ maxReceiveCount: 15 }), createDynamoTable()])
      return {
        relay: relayOn(new DynamoLedger({ tableName: table.tableName, client: table.client }), new SqsWorkQueue({ queueUrl: sqs.queueUrl, client: sqs.client })),
        close: async () => void (await Promise.all([sqs.stop(), table.drop()])),
      }
    },
  },
  {
    name: 'local (node:sqlite)',
    create: async () => {
      const sqlite = openTempSqlite()
      return {
        relay: relayOn(new SqliteLedger({ db: sqlite.db }), new SqliteWorkQueue({ db: sqlite.db, queueName: 'work', maxReceiveCount: 15, deadLetterQueueName: 'dead' })),
        close: async () => sqlite.cleanup(),
      }
    },
  },
])

const progress = (read: number, checkpoint?: { cursor: string | number; key: string | number }, promote = true): SyncProgress => ({
  counts: { ...ZERO_COUNTS, read, written: read, pages: Math.ceil(read / 100) },
  errors: [],
  promote,
  ...(checkpoint ? { checkpoint } : {}),
})
const spec = (overrides: Partial<SyncRunSpec> = {}): SyncRunSpec => ({ mode: 'incremental', trigger: 'admin', ...overrides })

describe.concurrent.each(families)('sync runs on $name', (family) => {
  const setup = async (context: TestContext) => {
    const harness = await family.create()
    context.onTestFinished(() => harness.close())
    return harness.relay
  }
  const pullOne = async (deps: RelayDeps, agentId: string, options: { waitSeconds?: number; leaseSeconds?: number } = {}): Promise<LeaseGrant> => {
    const { leases } = await pullLeases(deps, agentId, { max: 10, waitSeconds: options.waitSeconds ?? 3, ...(options.leaseSeconds ? { leaseSeconds: options.leaseSeconds } : {}) })
    expect(leases).toHaveLength(1)
    return leases[0]!
  }
  const jobState = async (deps: RelayDeps) => (await deps.ledger.getRecord(jobRecordKey('crm', 'contacts')))!

  it('keeps one run per job: a trigger while queued joins it, triggers while it runs make exactly one more', async (context) => {
    const { deps } = await setup(context)
    const first = await triggerRun(deps, JOB, spec())
    const joined = await triggerRun(deps, JOB, spec({ mode: 'full' }))
    expect(first.outcome).toBe('created')
    expect(joined).toMatchObject({ outcome: 'coalesced', requestId: first.requestId })

    const lease = await pullOne(deps, 'agent-1')
    expect(lease).toMatchObject({ requestId: first.requestId, recordId: 'contacts', recordType: '@sync', eventCount: 2 })
    expect(lease.sync).toMatchObject({ runId: first.requestId, job: 'contacts', mode: 'full', counts: ZERO_COUNTS })
    expect(lease.sync?.after).toBeUndefined()
    const until = Date.parse(lease.sync!.until!)
    expect(Math.abs(Date.now() - 30_000 - until)).toBeLessThan(5_000)

    const later = await Promise.all([triggerRun(deps, JOB, spec()), triggerRun(deps, JOB, spec())])
    expect(later.map((result) => result.outcome)).toEqual(['deferred', 'deferred'])
    expect((await pullLeases(deps, 'agent-2', { max: 10, waitSeconds: 0 })).leases).toHaveLength(0)

    expect((await ackLeases(deps, 'agent-1', [{ lease: lease.lease, outcome: 'done', sync: progress(0) }])).results[0]!.status).toBe('ok')
    const next = await pullOne(deps, 'agent-1')
    expect(next.requestId).not.toBe(first.requestId)
    expect(next).toMatchObject({ eventCount: 2, sync: { mode: 'incremental' } })
    await ackLeases(deps, 'agent-1', [{ lease: next.lease, outcome: 'done', sync: progress(0) }])
    expect((await pullLeases(deps, 'agent-1', { max: 10, waitSeconds: 0 })).leases).toHaveLength(0)
  })

  it('resumes a run whose lease expired from its last checkpoint with its counts, and refuses the old lease', async (context) => {
    const { deps } = await setup(context)
    await triggerRun(deps, JOB, spec())
    const first = await pullOne(deps, 'agent-1', { leaseSeconds: 5 })
    const committed = { cursor: '2031-01-01T00:00:00.000Z', key: 'c-100' }
    expect(await checkpointLease(deps, 'agent-1', { lease: first.lease, progress: progress(100, committed) })).toEqual({ status: 'ok' })

    // agent-1 "crashes": after its lease (+ the queue's margin) agent-2 gets the run where it stopped.
    const second = await pullOne(deps, 'agent-2', { waitSeconds: 12, leaseSeconds: 30 })
    expect(second).toMatchObject({ requestId: first.requestId, attempt: 2 })
    expect(second.sync).toMatchObject({ after: committed, counts: { read: 100, written: 100, pages: 1 }, until: first.sync!.until })

    expect(await checkpointLease(deps, 'agent-1', { lease: first.lease, progress: progress(200, { cursor: '2031-02-01T00:00:00.000Z', key: 'x' }) })).toEqual({ status: 'lease_lost' })
    expect((await ackLeases(deps, 'agent-1', [{ lease: first.lease, outcome: 'done', sync: progress(200) }])).results[0]!.status).toBe('lease_lost')
    expect((await jobState(deps)).job?.watermark).toEqual(committed)

    const final = { cursor: '2031-01-02T00:00:00.000Z', key: 'c-150' }
    await ackLeases(deps, 'agent-2', [{ lease: second.lease, outcome: 'done', sync: progress(150, final) }])
    const run = await deps.ledger.getRequest(first.requestId)
    expect(run?.sync).toMatchObject({ checkpoint: final, counts: { read: 150 }, chunks: 1 })
  })

  it('catches up the slots missed during downtime with one run, also when two schedulers tick at once', async (context) => {
    const relay = await setup(context)
    const { deps } = relay
    expect((await scheduleDueRuns(deps))[0]!.result).toEqual({ outcome: 'anchored' })
    expect((await scheduleDueRuns(deps))[0]!.result).toEqual({ outcome: 'none' })
    relay.advance(3600) // twelve slots of */5 pass while "everything is down"
    const ticks = await Promise.all([scheduleDueRuns(deps), scheduleDueRuns(deps)])
    const created = ticks.flat().filter((tick) => 'send' in tick.result)
    expect(created).toHaveLength(1)
    expect(created[0]!.result).toMatchObject({ outcome: 'created', missed: true })
    expect((await scheduleDueRuns(deps))[0]!.result).toEqual({ outcome: 'none' })

    const lease = await pullOne(deps, 'agent-1')
    expect(lease.events.map((event) => event.event)).toEqual(['sync.catch-up'])
    const runs = await deps.ledger.listRequests({ source: 'crm', recordId: 'contacts' })
    expect(runs.items).toHaveLength(1)
    expect((await jobState(deps)).job).toMatchObject({ scheduledRuns: 1 })
  })

  it('promotes the watermark with the checkpoints and the final progress, records the last run, and never expires the job', async (context) => {
    const { deps } = await setup(context)
    await triggerRun(deps, JOB, spec())
    const lease = await pullOne(deps, 'agent-1')
    await checkpointLease(deps, 'agent-1', { lease: lease.lease, progress: progress(100, { cursor: 10, key: 5 }) })
    expect((await jobState(deps)).job?.watermark).toEqual({ cursor: 10, key: 5 })
    await ackLeases(deps, 'agent-1', [{ lease: lease.lease, outcome: 'done', sync: progress(180, { cursor: 12, key: 1 }) }])

    const record = await jobState(deps)
    expect(record).toMatchObject({ state: 'idle', job: { watermark: { cursor: 12, key: 1 }, lastRun: { id: lease.requestId, state: 'done', mode: 'incremental', counts: { read: 180 } } } })
    expect(record.expiresAt).toBeUndefined()
    expect(record.job?.watermarkAt).toBeDefined()

    await triggerRun(deps, JOB, spec())
    expect((await pullOne(deps, 'agent-1')).sync?.after).toEqual({ cursor: 12, key: 1 })
  })

  it('does not promote from a failed run: a full run keeps the watermark, an unordered source promotes only when complete', async (context) => {
    const { deps } = await setup(context)
    await triggerRun(deps, JOB, spec())
    const ordered = await pullOne(deps, 'agent-1')
    await ackLeases(deps, 'agent-1', [{ lease: ordered.lease, outcome: 'done', sync: progress(5, { cursor: 100, key: 1 }) }])

    await triggerRun(deps, JOB, spec({ mode: 'full' }))
    const full = await pullOne(deps, 'agent-1')
    expect(full.sync?.after).toBeUndefined()
    await checkpointLease(deps, 'agent-1', { lease: full.lease, progress: progress(50, { cursor: 300, key: 9 }) })
    await ackLeases(deps, 'agent-1', [{ lease: full.lease, outcome: 'fail', error: { code: 'sink.down', message: 'refused' } }])
    expect((await jobState(deps)).job).toMatchObject({ watermark: { cursor: 100, key: 1 }, lastRun: { id: full.requestId, state: 'dead', error: 'refused' } })

    await triggerRun(deps, JOB, spec())
    const unordered = await pullOne(deps, 'agent-1')
    expect(unordered.sync?.after).toEqual({ cursor: 100, key: 1 })
    await checkpointLease(deps, 'agent-1', { lease: unordered.lease, progress: progress(50, { cursor: 400, key: 2 }, false) })
    expect((await jobState(deps)).job?.watermark).toEqual({ cursor: 100, key: 1 })
    await ackLeases(deps, 'agent-1', [{ lease: unordered.lease, outcome: 'fail', error: { message: 'list API gone' } }])
    expect((await jobState(deps)).job?.watermark).toEqual({ cursor: 100, key: 1 })
  })

  it('cancels a running run: its next checkpoint and ack are lease_lost, and the job is free for the next run', async (context) => {
    const { deps } = await setup(context)
    const { requestId } = await triggerRun(deps, JOB, spec())
    const lease = await pullOne(deps, 'agent-1')
    expect(await cancelRun(deps, requestId)).toEqual({ runId: requestId, status: 'cancelled' })
    expect(await checkpointLease(deps, 'agent-1', { lease: lease.lease, progress: progress(10, { cursor: 1, key: 1 }) })).toEqual({ status: 'lease_lost' })
    expect((await ackLeases(deps, 'agent-1', [{ lease: lease.lease, outcome: 'done' }])).results[0]!.status).toBe('lease_lost')
    expect(await deps.ledger.getRequest(requestId)).toMatchObject({ state: 'discarded', discardReason: 'cancelled by admin' })
    expect((await jobState(deps)).job?.lastRun).toMatchObject({ id: requestId, state: 'discarded' })
    expect((await triggerRun(deps, JOB, spec())).outcome).toBe('created')
  })
})

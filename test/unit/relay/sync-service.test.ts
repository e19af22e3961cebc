import { afterEach, describe, expect, it } from 'vitest'
import { serverConfigSchema, type ServerConfig } from '../../../lib/config/server-config.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import type { Log, Metrics, RelayDeps } from '../../../lib/relay/deps.ts'
import { encodeLease } from '../../../lib/relay/lease-token.ts'
import { decodeWorkMessage } from '../../../lib/relay/queue-message.ts'
import { decideClaim } from '../../../lib/relay/record-machine.ts'
import { checkpointLease, findJob, jobsOf, lagSecondsOf, reportRunEnd, scheduleDueRuns, triggerRun } from '../../../lib/relay/sync/sync-service.ts'
import { ZERO_COUNTS } from '../../../lib/relay/sync-types.ts'
import type { RelayRequest } from '../../../lib/relay/types.ts'
import { createRelayFixture, type RelayFixture } from '../admin/relay-fixture.ts'

/**
 * The sync service's side effects on the SQLite relay (sync.contract.test.ts proves the runs
 * themselves on both families): which jobs exist, the scheduler's messages, metrics and log lines,
 * a failing job next to a working one, triggers, checkpoints and a run's end report.
 */

const source = { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id' } }
const config = (jobs: Record<string, Record<string, unknown>>, more: Record<string, unknown> = {}): ServerConfig =>
  parseWithSchema(serverConfigSchema, { sources: { crm: { ...source, jobs }, shop: source, ...more } }, 'test config')

interface Recorded {
  logs: { level: string; message: string; fields?: Record<string, unknown> }[]
  metrics: { kind: 'count' | 'gauge'; name: string; value?: number; unit?: string; dimensions?: Record<string, string> }[]
}

let fixture: RelayFixture | undefined
afterEach(() => {
  fixture?.close()
  fixture = undefined
})

/** The SQLite relay with every log line and metric (with its dimensions) recorded. */
function relay(serverConfig: ServerConfig, now: string): { deps: RelayDeps; recorded: Recorded; setNow: (iso: string) => void; messages: () => Promise<string[]> } {
  fixture = createRelayFixture(serverConfig)
  fixture.setNow(new Date(now))
  const recorded: Recorded = { logs: [], metrics: [] }
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) => void recorded.logs.push({ level, message, ...(fields ? { fields } : {}) })
  const log: Log = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
  const metrics: Metrics = {
    count: (name, value, dimensions) => void recorded.metrics.push({ kind: 'count', name, ...(value === undefined ? {} : { value }), ...(dimensions ? { dimensions } : {}) }),
    gauge: (name, value, unit, dimensions) => void recorded.metrics.push({ kind: 'gauge', name, value, ...(unit ? { unit } : {}), ...(dimensions ? { dimensions } : {}) }),
  }
  const deps: RelayDeps = { ...fixture.deps, log, metrics }
  const setNow = (iso: string) => fixture!.setNow(new Date(iso))
  const messages = async () => (await deps.queue.receive({ maxMessages: 10, waitSeconds: 0, visibilitySeconds: 60 })).map((message) => decodeWorkMessage(message.body)?.requestId ?? message.body)
  return { deps, recorded, setNow, messages }
}

describe('jobsOf, findJob, lagSecondsOf', () => {
  const jobs = config({ contacts: { schedule: '*/5 * * * *', lagSeconds: 30 }, deals: { schedule: '0 * * * *' } }, { erp: { ...source, jobs: { items: { schedule: '0 2 * * *', lagSeconds: 5 } } } })

  it('lists every job of every source in config order, with its record key', () => {
    expect(jobsOf(jobs).map((ref) => [ref.source, ref.job, ref.config.schedule, ref.recordKey])).toEqual([
      ['crm', 'contacts', '*/5 * * * *', findJob(jobs, 'crm', 'contacts')!.recordKey],
      ['crm', 'deals', '0 * * * *', findJob(jobs, 'crm', 'deals')!.recordKey],
      ['erp', 'items', '0 2 * * *', findJob(jobs, 'erp', 'items')!.recordKey],
    ])
    expect(new Set(jobsOf(jobs).map((ref) => ref.recordKey)).size).toBe(3)
  })

  it('finds a configured job only: not another source\'s, not an inherited property', () => {
    expect(findJob(jobs, 'crm', 'contacts')).toMatchObject({ source: 'crm', job: 'contacts', config: { lagSeconds: 30 } })
    expect(findJob(jobs, 'crm', 'items')).toBeUndefined()
    expect(findJob(jobs, 'shop', 'contacts')).toBeUndefined()
    expect(findJob(jobs, 'nope', 'contacts')).toBeUndefined()
    expect(findJob(jobs, 'constructor', 'contacts')).toBeUndefined()
    expect(findJob(jobs, 'crm', 'constructor')).toBeUndefined()
    expect(findJob(jobs, 'crm', 'toString')).toBeUndefined()
  })

  it('gives a job\'s lag, its default, and 0 for a job no longer configured', () => {
    const lag = lagSecondsOf(jobs)
    expect(lag('crm', 'contacts')).toBe(30)
    expect(lag('crm', 'deals')).toBe(60)
    expect(lag('erp', 'items')).toBe(5)
    expect(lag('crm', 'gone')).toBe(0)
  })
})

describe('scheduleDueRuns', () => {
  it('anchors a new job without a run, then triggers one run per slot with its message, metric and log line', async () => {
    const { deps, recorded, setNow, messages } = relay(config({ contacts: { schedule: '*/5 * * * *' } }), '2031-03-01T12:01:00.000Z')
    expect(await scheduleDueRuns(deps)).toEqual([{ source: 'crm', job: 'contacts', result: { outcome: 'anchored' } }])
    expect(await messages()).toEqual([])
    expect(recorded).toEqual({ logs: [], metrics: [] })

    setNow('2031-03-01T12:05:00.000Z')
    const [tick] = await scheduleDueRuns(deps)
    expect(tick).toMatchObject({ source: 'crm', job: 'contacts', result: { outcome: 'created', send: true, slot: '2031-03-01T12:05:00.000Z', missed: false } })
    const runId = tick!.result.outcome === 'created' ? tick!.result.requestId : ''
    expect(await messages()).toEqual([runId])
    expect((await deps.ledger.getRequest(runId))?.sentAt).toBeDefined()
    expect(recorded.metrics).toEqual([{ kind: 'count', name: 'SyncRunsTriggered', value: 1, dimensions: { source: 'crm', job: 'contacts' } }])
    expect(recorded.logs).toEqual([
      { level: 'info', message: 'sync crm/contacts: scheduled run (created)', fields: { source: 'crm', job: 'contacts', slot: '2031-03-01T12:05:00.000Z', runId, outcome: 'created' } },
    ])

    // The same slot again: nothing to do, nothing logged.
    recorded.logs.length = 0
    recorded.metrics.length = 0
    expect(await scheduleDueRuns(deps)).toEqual([{ source: 'crm', job: 'contacts', result: { outcome: 'none' } }])
    expect(recorded).toEqual({ logs: [], metrics: [] })
  })

  it('turns slots missed meanwhile into one catch-up run that joins the queued one without a second message', async () => {
    const { deps, recorded, setNow, messages } = relay(config({ contacts: { schedule: '*/5 * * * *', firstRun: 'immediately' } }), '2031-03-01T12:01:00.000Z')
    const [first] = await scheduleDueRuns(deps)
    expect(first?.result).toMatchObject({ outcome: 'created', send: true, slot: '2031-03-01T12:01:00.000Z', missed: false })
    expect(await messages()).toHaveLength(1)
    setNow('2031-03-01T12:17:00.000Z')
    recorded.logs.length = 0
    const [late] = await scheduleDueRuns(deps)
    expect(late?.result).toMatchObject({ outcome: 'coalesced', send: false, slot: '2031-03-01T12:15:00.000Z', missed: true })
    expect(await messages()).toEqual([])
    expect(recorded.logs.map((entry) => entry.message)).toEqual(['sync crm/contacts: caught up missed slots with one run (coalesced)'])
  })

  it('logs a job it could not schedule and still schedules the others', async () => {
    const { deps, recorded } = relay(config({ broken: { schedule: '*/5 * * * *', firstRun: 'immediately' }, contacts: { schedule: '*/5 * * * *', firstRun: 'immediately' } }), '2031-03-01T12:01:00.000Z')
    const broken = findJob(deps.config, 'crm', 'broken')!.recordKey
    const ledger = deps.ledger
    const failing: RelayDeps = {
      ...deps,
      ledger: new Proxy(ledger, {
        get: (target, name, receiver) =>
          name === 'mutateRecord'
            ? (recordKey: string, ...rest: unknown[]) => (recordKey === broken ? Promise.reject(new Error('disk full')) : (target.mutateRecord as (...args: unknown[]) => unknown).call(target, recordKey, ...rest))
            : (Reflect.get(target, name, receiver) as unknown),
      }),
    }
    const ticks = await scheduleDueRuns(failing)
    expect(ticks.map((tick) => [tick.job, tick.result.outcome])).toEqual([['contacts', 'created']])
    expect(recorded.logs.filter((entry) => entry.level === 'error')).toEqual([
      { level: 'error', message: 'sync crm/broken: could not schedule', fields: { source: 'crm', job: 'broken', error: 'Error: disk full' } },
    ])
    // Its slot stays unconsumed: the next tick creates its run.
    const again = await scheduleDueRuns(deps)
    expect(again.map((tick) => [tick.job, tick.result.outcome])).toEqual([['broken', 'created'], ['contacts', 'none']])
  })
})

describe('triggerRun', () => {
  it('creates a run and sends its message, then joins it without another message; counted per job', async () => {
    const { deps, recorded, messages } = relay(config({ contacts: { schedule: '0 0 1 1 *' } }), '2031-03-01T12:01:00.000Z')
    const ref = findJob(deps.config, 'crm', 'contacts')!
    const created = await triggerRun(deps, ref, { mode: 'full', trigger: 'admin' })
    expect(created).toMatchObject({ outcome: 'created', send: true })
    expect(await messages()).toEqual([created.requestId])
    const run = await deps.ledger.getRequest(created.requestId)
    expect(run).toMatchObject({ recordKey: ref.recordKey, recordId: 'contacts', events: [{ event: 'sync.admin', sync: { mode: 'full', trigger: 'admin' } }] })
    expect(run?.events[0]?.deliveryId).toMatch(/^admin:/)
    expect(run?.sentAt).toBeDefined()

    const joined = await triggerRun(deps, ref, { mode: 'incremental', trigger: 'admin' })
    expect(joined).toEqual({ outcome: 'coalesced', requestId: created.requestId, send: false })
    expect(await messages()).toEqual([])
    expect(recorded.metrics).toEqual([
      { kind: 'count', name: 'SyncRunsTriggered', value: 1, dimensions: { source: 'crm', job: 'contacts' } },
      { kind: 'count', name: 'SyncRunsTriggered', value: 1, dimensions: { source: 'crm', job: 'contacts' } },
    ])
  })
})

describe('checkpointLease', () => {
  it('refuses a token it did not issue, records a live lease\'s chunk (counted), and refuses an expired lease', async () => {
    const { deps, recorded, setNow } = relay(config({ contacts: { schedule: '0 0 1 1 *' } }), '2031-03-01T12:01:00.000Z')
    const ref = findJob(deps.config, 'crm', 'contacts')!
    const progress = { counts: { ...ZERO_COUNTS, read: 10 }, errors: [], promote: true, checkpoint: { cursor: 10, key: 'k10' } }
    expect(await checkpointLease(deps, 'agent-1', { lease: 'garbage', progress })).toEqual({ status: 'invalid_lease' })

    const { requestId } = await triggerRun(deps, ref, { mode: 'incremental', trigger: 'admin' })
    const claimed = await deps.ledger.mutateRecord(ref.recordKey, [requestId], (snapshot) =>
      decideClaim(snapshot, { requestId, leaseId: 'L1', agentId: 'agent-1', leaseSeconds: 60, now: deps.now(), nextRequestId: 'n1' }),
    )
    expect(claimed.status).toBe('claimed')
    const lease = encodeLease({ requestId, recordKey: ref.recordKey, leaseId: 'L1', receipt: 'r' })
    recorded.metrics.length = 0
    expect(await checkpointLease(deps, 'agent-1', { lease, progress })).toEqual({ status: 'ok' })
    expect(recorded.metrics).toEqual([{ kind: 'count', name: 'SyncCheckpoints' }])
    expect((await deps.ledger.getRequest(requestId))?.sync).toMatchObject({ checkpoint: { cursor: 10, key: 'k10' }, counts: { read: 10 }, chunks: 1 })
    expect((await deps.ledger.getRecord(ref.recordKey))?.job?.watermark).toEqual({ cursor: 10, key: 'k10' })

    // Another agent's call, then the lease's own after its expiry: refused and not counted.
    expect(await checkpointLease(deps, 'agent-2', { lease, progress })).toEqual({ status: 'lease_lost' })
    setNow('2031-03-01T12:02:00.000Z')
    expect(await checkpointLease(deps, 'agent-1', { lease, progress })).toEqual({ status: 'lease_lost' })
    expect(recorded.metrics).toEqual([{ kind: 'count', name: 'SyncCheckpoints' }])
  })
})

describe('reportRunEnd', () => {
  const run = (overrides: Partial<RelayRequest> = {}, startedAt: string | null = '2031-03-01T12:00:00.000Z'): RelayRequest => ({
    id: 'run-1',
    source: 'crm',
    recordKey: 'k',
    recordId: 'contacts',
    mode: 'async',
    maxAttempts: 3,
    state: 'done',
    createdAt: '2031-03-01T11:59:00.000Z',
    updatedAt: '2031-03-01T12:01:30.000Z',
    events: [],
    eventCount: 1,
    attempts: 1,
    history: [],
    rev: 1,
    sync: { job: 'contacts', mode: 'full', counts: { ...ZERO_COUNTS, read: 120, written: 100, rejected: 3 }, errors: [], trigger: 'admin', ...(startedAt ? { startedAt } : {}) },
    ...overrides,
  })
  const recorder = () => {
    const recorded: Recorded = { logs: [], metrics: [] }
    const line = (level: string) => (message: string, fields?: Record<string, unknown>) => void recorded.logs.push({ level, message, ...(fields ? { fields } : {}) })
    const deps = {
      log: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') },
      metrics: {
        count: () => {},
        gauge: (name: string, value: number, unit?: string, dimensions?: Record<string, string>) => void recorded.metrics.push({ kind: 'gauge' as const, name, value, ...(unit ? { unit } : {}), ...(dimensions ? { dimensions } : {}) }),
      },
    }
    return { deps, recorded }
  }
  const now = new Date('2031-03-01T12:01:30.000Z')

  it('gauges a done run\'s records read and written and its duration per job, with one info line', () => {
    const { deps, recorded } = recorder()
    reportRunEnd(deps, run(), now)
    const job = { source: 'crm', job: 'contacts' }
    expect(recorded.metrics).toEqual([
      { kind: 'gauge', name: 'SyncRunRecordsRead', value: 120, unit: 'Count', dimensions: job },
      { kind: 'gauge', name: 'SyncRunRecordsWritten', value: 100, unit: 'Count', dimensions: job },
      { kind: 'gauge', name: 'SyncRunDurationSeconds', value: 90, unit: 'Seconds', dimensions: job },
    ])
    expect(recorded.logs).toEqual([
      {
        level: 'info',
        message: 'sync crm/contacts: run done: 120 read, 100 written, 3 rejected',
        fields: { ...job, runId: 'run-1', mode: 'full', state: 'done', counts: { ...ZERO_COUNTS, read: 120, written: 100, rejected: 3 }, durationSeconds: 90, error: undefined },
      },
    ])
  })

  it('warns for a run that did not complete, with its error; no start means no duration', () => {
    const { deps, recorded } = recorder()
    reportRunEnd(deps, run({ state: 'dead', lastError: { message: 'sink down' } }, null), now)
    expect(recorded.metrics.find((metric) => metric.name === 'SyncRunDurationSeconds')?.value).toBe(0)
    expect(recorded.logs).toEqual([
      {
        level: 'warn',
        message: "sync crm/contacts: run dead: the job's watermark stays at its last checkpoint",
        fields: expect.objectContaining({ state: 'dead', error: 'sink down', durationSeconds: 0 }),
      },
    ])
  })

  it('never reports a negative duration (a clock that went back)', () => {
    const { deps, recorded } = recorder()
    reportRunEnd(deps, run({}, '2031-03-01T12:05:00.000Z'), now)
    expect(recorded.metrics.find((metric) => metric.name === 'SyncRunDurationSeconds')?.value).toBe(0)
  })
})

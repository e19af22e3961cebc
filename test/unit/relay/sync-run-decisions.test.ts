import { describe, expect, it } from 'vitest'
import type { SyncJobConfig } from '../../../lib/config/sync-jobs.ts'
import { syncJobSchema } from '../../../lib/config/sync-jobs.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import { decideClaim, decideFinish, decideRetry } from '../../../lib/relay/record-machine.ts'
import { decideCancel, decideCheckpoint, decideReset, decideSchedule, decideTrigger, jobRecordKey, runRequestSpec } from '../../../lib/relay/sync/run-decisions.ts'
import { applyProgress, hasStarted, startRun, syncGrantOf } from '../../../lib/relay/sync/run-state.ts'
import { recentSlots } from '../../../lib/relay/sync/schedule.ts'
import { SYNC_RECORD_TYPE, ZERO_COUNTS, type SyncRunSpec, type SyncRunState } from '../../../lib/relay/sync-types.ts'
import type { RecordState, RelayRequest } from '../../../lib/relay/types.ts'
import { RecordStore } from './record-store.ts'

/**
 * The sync run decisions at their edges (sync-runs.test.ts walks the main paths): what a fresh
 * job record holds, triggers against a run waiting for its retry, a schedule tick that joins a
 * queued run, checkpoints, cancel and reset, and what a run fixes at its first lease.
 */

const T0 = Date.UTC(2031, 2, 1, 12, 0, 0)
const at = (seconds: number) => new Date(T0 + seconds * 1000)
const KEY = jobRecordKey('crm', 'contacts')
let ids = 0
const spec = () => runRequestSpec(`run-${++ids}`, 'crm', 'contacts', { maxAttempts: 3 })
const trigger = (store: RecordStore, seconds: number, sync: Partial<SyncRunSpec> = {}) =>
  store.apply(decideTrigger(store.snapshot(), { request: spec(), event: { deliveryId: `d-${++ids}`, receivedAt: at(seconds).toISOString(), sync: { mode: 'incremental', trigger: 'admin', ...sync } }, now: at(seconds) }))
const claim = (store: RecordStore, requestId: string, leaseId: string, seconds: number) => {
  const result = store.apply(decideClaim(store.snapshot(), { requestId, leaseId, agentId: 'a', leaseSeconds: 60, now: at(seconds), nextRequestId: `run-${++ids}`, lagSecondsOf: () => 30 }))
  if (result.status !== 'claimed') throw new Error(`not claimed: ${result.status}`)
  return result.request
}
const lease = (requestId: string, leaseId: string, seconds: number) => ({ requestId, leaseId, agentId: 'a', now: at(seconds), retentionSeconds: 600, nextRequestId: `run-${++ids}` })
const cancel = (store: RecordStore, requestId: string, seconds: number) => store.apply(decideCancel(store.snapshot(), { requestId, by: 'ops', now: at(seconds), retentionSeconds: 600, nextRequestId: `run-${++ids}` }))
const progress = (read: number, checkpoint?: { cursor: number; key: string }) => ({ counts: { ...ZERO_COUNTS, read }, errors: [], promote: true, ...(checkpoint ? { checkpoint } : {}) })

describe('a job\'s run request and its fresh record', () => {
  it('is an async execute request on the job\'s record', () => {
    expect(runRequestSpec('r1', 'crm', 'contacts', { maxAttempts: 4 })).toEqual({ id: 'r1', source: 'crm', recordKey: KEY, recordId: 'contacts', recordType: SYNC_RECORD_TYPE, mode: 'async', maxAttempts: 4 })
  })

  it('a reset of a job never seen writes an idle record holding only the job state', () => {
    const store = new RecordStore()
    expect(store.apply(decideReset(store.snapshot(), { request: spec(), to: { cursor: 5, key: 'a' }, now: at(0) }))).toMatchObject({ status: 'reset' })
    expect(store.record).toEqual({ source: 'crm', recordKey: KEY, state: 'idle', dirty: false, pendingEvents: [], updatedAt: at(0).toISOString(), rev: 0, job: { watermark: { cursor: 5, key: 'a' }, watermarkAt: at(0).toISOString() } })
  })
})

describe('decideTrigger while a started run waits for its retry', () => {
  it('defers the trigger to one more run and leaves the waiting run as it is', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    const run = claim(store, requestId, 'L1', 1)
    store.apply(decideRetry(store.snapshot(), { ...lease(requestId, 'L1', 2), error: { message: 'later' }, delaySeconds: 10 }))
    const waiting = store.request(requestId)
    const mutation = decideTrigger(store.snapshot(), { request: spec(), event: { deliveryId: 'late', receivedAt: at(3).toISOString(), sync: { mode: 'full', trigger: 'admin' } }, now: at(3) })
    expect(mutation.result).toMatchObject({ outcome: 'deferred', send: false })
    // Only the follow-up is written: the waiting run is not touched (not marked leased).
    expect(mutation.requests?.map((request) => [request.id, request.state])).toEqual([[mutation.result.requestId, 'deferred']])
    expect(mutation.record).toMatchObject({ state: 'queued', requestId, dirty: true, nextRequestId: mutation.result.requestId })
    store.apply(mutation)
    expect(store.request(requestId)).toEqual(waiting)
    expect(run.sync?.mode).toBe('incremental')
  })

  it('joins a queued run that has not started yet', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    expect(trigger(store, 1, { mode: 'full' })).toEqual({ outcome: 'coalesced', requestId, send: true })
  })

  it('starts a new run when the record points at a started run that is not queued (pointer and request disagree)', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    store.apply(decideRetry(store.snapshot(), { ...lease(requestId, 'L1', 2), error: { message: 'later' }, delaySeconds: 0 }))
    store.record = { ...store.record!, state: 'idle' }
    expect(trigger(store, 3)).toMatchObject({ outcome: 'created', send: true })
    const other = new RecordStore()
    const first = trigger(other, 0)
    claim(other, first.requestId, 'L1', 1)
    other.apply(decideRetry(other.snapshot(), { ...lease(first.requestId, 'L1', 2), error: { message: 'later' }, delaySeconds: 0 }))
    other.requests.set(first.requestId, { ...other.request(first.requestId), state: 'done' })
    expect(trigger(other, 3)).toMatchObject({ outcome: 'created', send: true })
  })
})

describe('decideSchedule joining a queued run', () => {
  const config: SyncJobConfig = parseWithSchema(syncJobSchema, { schedule: '*/5 * * * *', firstRun: 'immediately' }, 'test job')

  it('consumes the slot on the record even when the run it triggers is joined', () => {
    const store = new RecordStore()
    const first = store.apply(decideSchedule(store.snapshot(), { request: spec(), config, now: at(0) }))
    expect(first).toMatchObject({ outcome: 'created', slot: at(0).toISOString(), missed: false })
    expect(store.request('requestId' in first ? first.requestId : '').events[0]).toMatchObject({ deliveryId: `schedule:${at(0).toISOString()}`, event: 'sync.schedule', sync: { mode: 'incremental', trigger: 'schedule' } })
    const next = store.apply(decideSchedule(store.snapshot(), { request: spec(), config, now: at(300) }))
    expect(next).toMatchObject({ outcome: 'coalesced', slot: '2031-03-01T12:05:00.000Z', missed: false })
    expect(store.record).toMatchObject({ source: 'crm', recordKey: KEY, state: 'queued', updatedAt: at(300).toISOString(), job: { lastScheduledAt: '2031-03-01T12:05:00.000Z', scheduledRuns: 2 } })
    expect(store.apply(decideSchedule(store.snapshot(), { request: spec(), config, now: at(301) }))).toEqual({ outcome: 'none' })
  })
})

describe('decideCheckpoint', () => {
  it('refuses a lease that is not a sync run\'s, writing nothing', () => {
    const store = new RecordStore()
    const webhook: RelayRequest = { id: 'w1', source: 'crm', recordKey: 'crm##1', recordId: '1', mode: 'async', maxAttempts: 3, state: 'leased', createdAt: at(0).toISOString(), updatedAt: at(0).toISOString(), events: [], eventCount: 1, attempts: 1, history: [], rev: 1, lease: { id: 'L1', agentId: 'a', expiresAt: at(60).toISOString() } }
    store.requests.set('w1', webhook)
    expect(decideCheckpoint(store.snapshot(), { requestId: 'w1', leaseId: 'L1', agentId: 'a', progress: progress(1), now: at(1) })).toEqual({ result: { status: 'invalid_lease' } })
  })

  it('moves only the run when the job\'s record is not in the snapshot', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    const mutation = decideCheckpoint({ record: undefined, requests: store.snapshot().requests }, { requestId, leaseId: 'L1', agentId: 'a', progress: progress(10, { cursor: 10, key: 'k' }), now: at(2) })
    expect(mutation.result).toEqual({ status: 'ok' })
    expect(mutation.record).toBeUndefined()
    expect(mutation.requests?.map((request) => request.sync?.checkpoint)).toEqual([{ cursor: 10, key: 'k' }])
  })

  it('appends the errors of each checkpoint and counts chunks', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    const error = (key: string) => ({ key, message: 'bad', at: at(2).toISOString() })
    store.apply(decideCheckpoint(store.snapshot(), { requestId, leaseId: 'L1', agentId: 'a', progress: { ...progress(5), errors: [error('a')] }, now: at(2) }))
    store.apply(decideCheckpoint(store.snapshot(), { requestId, leaseId: 'L1', agentId: 'a', progress: { ...progress(9), errors: [error('b')] }, now: at(3) }))
    expect(store.request(requestId).sync).toMatchObject({ counts: { read: 9 }, chunks: 2, errors: [error('a'), error('b')] })
  })
})

describe('decideCancel', () => {
  it('discards a queued run with the reason, for the retention, and ends it on the job as never started', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    expect(cancel(store, requestId, 5)).toEqual({ status: 'cancelled' })
    const run = store.request(requestId)
    expect(run).toMatchObject({ state: 'discarded', discardReason: 'cancelled by ops', updatedAt: at(5).toISOString(), expiresAt: Math.floor(at(5).getTime() / 1000) + 600 })
    expect(store.record).toMatchObject({ state: 'idle', requestId })
    expect(store.record?.job?.lastRun).toEqual({ id: requestId, mode: 'incremental', state: 'discarded', finishedAt: at(5).toISOString(), counts: ZERO_COUNTS, error: 'cancelled by ops' })
  })

  it('closes a running run\'s open attempt as failed, ends its lease and drops a planned retry time', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    store.apply(decideRetry(store.snapshot(), { ...lease(requestId, 'L1', 2), error: { message: 'later' }, delaySeconds: 0 }))
    claim(store, requestId, 'L2', 3)
    expect(cancel(store, requestId, 7)).toEqual({ status: 'cancelled' })
    const run = store.request(requestId)
    expect(run.history).toEqual([
      expect.objectContaining({ leaseId: 'L1', outcome: 'retry', endedAt: at(2).toISOString(), durationMs: 1000 }),
      { attempt: 2, agentId: 'a', leaseId: 'L2', startedAt: at(3).toISOString(), endedAt: at(7).toISOString(), outcome: 'fail', durationMs: 4000, error: { code: 'run.cancelled', message: 'cancelled by ops' } },
    ])
    expect('lease' in run).toBe(false)

    const delayed = new RecordStore()
    const other = trigger(delayed, 0)
    claim(delayed, other.requestId, 'L1', 1)
    delayed.apply(decideRetry(delayed.snapshot(), { ...lease(other.requestId, 'L1', 2), error: { message: 'later' }, delaySeconds: 60 }))
    expect(delayed.request(other.requestId).nextAttemptAt).toBeDefined()
    cancel(delayed, other.requestId, 3)
    expect('nextAttemptAt' in delayed.request(other.requestId)).toBe(false)
    // The attempt closed by the retry is left as it was.
    expect(delayed.request(other.requestId).history).toEqual([expect.objectContaining({ leaseId: 'L1', outcome: 'retry', endedAt: at(2).toISOString() })])
  })

  it('gives the triggers that came during the run their one more run', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    const deferred = trigger(store, 2, { mode: 'full' })
    const result = cancel(store, requestId, 3)
    expect(result).toMatchObject({ status: 'cancelled', next: { id: deferred.requestId, state: 'queued' } })
  })

  it('refuses a run that is not queued or running, naming its state; an unknown one without a state', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    store.apply(decideFinish(store.snapshot(), { ...lease(requestId, 'L1', 2), outcome: 'done' }))
    expect(decideCancel(store.snapshot(), { requestId, by: 'ops', now: at(3), retentionSeconds: 600, nextRequestId: 'n' })).toEqual({ result: { status: 'not_active', state: 'done' } })
    expect(decideCancel(store.snapshot(), { requestId: 'unknown', by: 'ops', now: at(3), retentionSeconds: 600, nextRequestId: 'n' })).toEqual({ result: { status: 'not_active' } })
    const failed = new RecordStore()
    const other = trigger(failed, 0)
    claim(failed, other.requestId, 'L1', 1)
    failed.apply(decideFinish(failed.snapshot(), { ...lease(other.requestId, 'L1', 2), outcome: 'fail', error: { message: 'x' } }))
    expect(decideCancel(failed.snapshot(), { requestId: other.requestId, by: 'ops', now: at(3), retentionSeconds: 600, nextRequestId: 'n' }).result).toEqual({ status: 'not_active', state: 'dead' })
  })
})

describe('decideReset', () => {
  it('clears the watermark (not set to null) and keeps the rest of the job state', () => {
    const store = new RecordStore()
    store.apply(decideReset(store.snapshot(), { request: spec(), to: { cursor: 5, key: 'a' }, now: at(0) }))
    store.record = { ...store.record!, job: { ...store.record!.job, lastScheduledAt: at(0).toISOString(), scheduledRuns: 4 } }
    expect(store.apply(decideReset(store.snapshot(), { request: spec(), to: null, now: at(10) }))).toEqual({ status: 'reset', job: { watermarkAt: at(10).toISOString(), lastScheduledAt: at(0).toISOString(), scheduledRuns: 4 } })
    expect(store.record?.job).toEqual({ watermarkAt: at(10).toISOString(), lastScheduledAt: at(0).toISOString(), scheduledRuns: 4 })
  })

  it('is allowed once the job\'s last run ended, done or failed', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    store.apply(decideFinish(store.snapshot(), { ...lease(requestId, 'L1', 2), outcome: 'done', sync: progress(1, { cursor: 4, key: 'd' }) }))
    expect(store.record).toMatchObject({ state: 'idle', requestId })
    expect(store.apply(decideReset(store.snapshot(), { request: spec(), to: { cursor: 1, key: '' }, now: at(3) }))).toMatchObject({ status: 'reset', job: { watermark: { cursor: 1, key: '' } } })
    const failed = new RecordStore()
    const other = trigger(failed, 0)
    claim(failed, other.requestId, 'L1', 1)
    failed.apply(decideFinish(failed.snapshot(), { ...lease(other.requestId, 'L1', 2), outcome: 'fail', error: { message: 'x' } }))
    expect(failed.apply(decideReset(failed.snapshot(), { request: spec(), to: null, now: at(3) }))).toMatchObject({ status: 'reset' })
  })

  it('is refused while a started run waits for its retry, allowed while a run that never started is queued', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    expect(store.apply(decideReset(store.snapshot(), { request: spec(), to: null, now: at(1) }))).toMatchObject({ status: 'reset' })
    claim(store, requestId, 'L1', 1)
    store.apply(decideRetry(store.snapshot(), { ...lease(requestId, 'L1', 2), error: { message: 'later' }, delaySeconds: 0 }))
    expect(store.request(requestId).state).toBe('queued')
    expect(store.apply(decideReset(store.snapshot(), { request: spec(), to: null, now: at(3) }))).toEqual({ status: 'run_active', requestId })
  })
})

describe('what a run fixes at its first lease (startRun)', () => {
  const request = (events: RelayRequest['events']): RelayRequest => ({ ...runRequestSpec('run-x', 'crm', 'contacts', { maxAttempts: 3 }), state: 'leased', createdAt: at(0).toISOString(), updatedAt: at(0).toISOString(), events, eventCount: events.length, attempts: 1, history: [], rev: 1 })
  const record: RecordState = { source: 'crm', recordKey: KEY, state: 'processing', requestId: 'run-x', dirty: false, pendingEvents: [], updatedAt: at(0).toISOString(), rev: 1, job: { watermark: { cursor: 7, key: 'g' } } }
  const event = (sync?: SyncRunSpec) => ({ deliveryId: `d-${++ids}`, receivedAt: at(0).toISOString(), ...(sync ? { sync } : {}) })

  it('starts at a trigger\'s since (not the job watermark); triggers with the same since share the run, another since waits', () => {
    const since = { cursor: 3, key: 'c' }
    const started = startRun(request([event({ mode: 'incremental', trigger: 'admin', since }), event({ mode: 'incremental', trigger: 'admin', since: { ...since } }), event({ mode: 'incremental', trigger: 'admin', since: { cursor: 4, key: 'c' } })]), record, at(0), 30)
    expect(started.request.sync).toEqual({ job: 'contacts', mode: 'incremental', startWatermark: since, until: at(-30).toISOString(), counts: ZERO_COUNTS, errors: [], startedAt: at(0).toISOString(), trigger: 'admin', triggers: 2, chunks: 0 })
    expect(started.request).toMatchObject({ eventCount: 2 })
    expect(started.request.events).toHaveLength(2)
    expect(started.record).toMatchObject({ dirty: true, pendingEvents: [expect.objectContaining({ sync: expect.objectContaining({ since: { cursor: 4, key: 'c' } }) })] })
  })

  it('leaves the record as it was when every trigger is of the run\'s kind', () => {
    const started = startRun(request([event({ mode: 'incremental', trigger: 'admin' }), event({ mode: 'full', trigger: 'schedule' })]), record, at(0), 0)
    expect(started.record).toBe(record)
    expect(started.request.sync).toMatchObject({ mode: 'full', trigger: 'admin', triggers: 2 })
    expect(started.request.sync && 'startWatermark' in started.request.sync).toBe(false)
  })

  it('reads a trigger written without a spec as a scheduled incremental run from the job\'s watermark', () => {
    const started = startRun(request([event(), event()]), record, at(0), 60)
    expect(started.request.sync).toMatchObject({ mode: 'incremental', startWatermark: { cursor: 7, key: 'g' }, trigger: 'schedule', triggers: 2, until: at(-60).toISOString() })
    expect(started.record).toBe(record)
  })

  it('does nothing to a webhook request or a run that already started', () => {
    const webhook: RelayRequest = { ...request([event()]), recordType: 'customer' }
    expect(startRun(webhook, record, at(0), 0).request).toBe(webhook)
    const once = startRun(request([event({ mode: 'incremental', trigger: 'admin' })]), record, at(0), 0).request
    expect(startRun(once, record, at(5), 0).request).toBe(once)
  })
})

describe('a started run retried with no new trigger', () => {
  it('is claimed again as it was: no trigger moves back to the record, which stays clean', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    store.apply(decideRetry(store.snapshot(), { ...lease(requestId, 'L1', 2), error: { message: 'later' }, delaySeconds: 0 }))
    const again = claim(store, requestId, 'L2', 3)
    expect(again).toMatchObject({ eventCount: 1, events: [expect.objectContaining({ sync: expect.objectContaining({ trigger: 'admin' }) })] })
    expect(store.record).toMatchObject({ dirty: false, pendingEvents: [] })
  })

  it('hands a trigger folded in by the retry back to the record and keeps only its own', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    trigger(store, 2, { ids: ['x'] })
    store.apply(decideRetry(store.snapshot(), { ...lease(requestId, 'L1', 3), error: { message: 'later' }, delaySeconds: 0 }))
    expect(store.request(requestId).eventCount).toBe(2)
    const again = claim(store, requestId, 'L2', 4)
    expect(again.events.map((each) => each.sync?.ids)).toEqual([undefined])
    expect(store.record?.pendingEvents.map((each) => each.sync?.ids)).toEqual([['x']])
  })
})

describe('hasStarted', () => {
  it('is true only for a run whose first lease fixed it; no request has not started', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    expect(hasStarted(store.request(requestId))).toBe(false)
    expect(hasStarted(claim(store, requestId, 'L1', 1))).toBe(true)
    expect(hasStarted(undefined)).toBe(false)
  })
})

describe('syncGrantOf and applyProgress', () => {
  const run: SyncRunState = { job: 'contacts', mode: 'incremental', counts: { ...ZERO_COUNTS, read: 2 }, errors: [], startWatermark: { cursor: 1, key: 'a' }, until: at(0).toISOString() }
  const request = (sync?: SyncRunState): RelayRequest => ({ ...runRequestSpec('run-g', 'crm', 'contacts', { maxAttempts: 3 }), state: 'leased', createdAt: at(0).toISOString(), updatedAt: at(0).toISOString(), events: [], eventCount: 1, attempts: 1, history: [], rev: 1, ...(sync ? { sync } : {}) })

  it('tells the agent where to start (the checkpoint, else the start), the bound, the ids and the counts', () => {
    expect(syncGrantOf(request(run))).toEqual({ runId: 'run-g', job: 'contacts', mode: 'incremental', after: { cursor: 1, key: 'a' }, until: at(0).toISOString(), counts: run.counts })
    expect(syncGrantOf(request({ ...run, checkpoint: { cursor: 2, key: 'b' } }))?.after).toEqual({ cursor: 2, key: 'b' })
    const resend = syncGrantOf(request({ job: 'contacts', mode: 'incremental', ids: ['x', 'y'], counts: ZERO_COUNTS, errors: [] }))
    expect(resend).toEqual({ runId: 'run-g', job: 'contacts', mode: 'incremental', ids: ['x', 'y'], counts: ZERO_COUNTS })
    expect(syncGrantOf(request())).toBeUndefined()
  })

  it('replaces totals, appends errors, counts chunks only for checkpoints, and keeps promote false once false', () => {
    const error = { key: 'k', message: 'bad', at: at(0).toISOString() }
    const once = applyProgress({ ...run, errors: [error] }, { counts: { ...ZERO_COUNTS, read: 9 }, errors: [{ ...error, key: 'l' }], promote: false }, true)
    expect(once).toMatchObject({ counts: { read: 9 }, errors: [error, { ...error, key: 'l' }], chunks: 1, promote: false })
    expect('checkpoint' in once).toBe(false)
    const final = applyProgress(once, { counts: { ...ZERO_COUNTS, read: 10 }, errors: [], promote: true, checkpoint: { cursor: 3, key: 'c' } }, false)
    expect(final).toMatchObject({ counts: { read: 10 }, chunks: 1, promote: false, checkpoint: { cursor: 3, key: 'c' } })
  })
})

describe('a run that ends done after a failed attempt', () => {
  it('records its last run without the earlier attempt\'s error', () => {
    const store = new RecordStore()
    const { requestId } = trigger(store, 0)
    claim(store, requestId, 'L1', 1)
    store.apply(decideRetry(store.snapshot(), { ...lease(requestId, 'L1', 2), error: { message: 'sink down' }, delaySeconds: 0 }))
    claim(store, requestId, 'L2', 3)
    store.apply(decideFinish(store.snapshot(), { ...lease(requestId, 'L2', 4), outcome: 'done', sync: progress(3, { cursor: 9, key: 'z' }) }))
    expect(store.request(requestId).lastError).toEqual({ message: 'sink down' })
    expect(store.record?.job?.lastRun).toEqual({ id: requestId, mode: 'incremental', state: 'done', finishedAt: at(4).toISOString(), counts: { ...ZERO_COUNTS, read: 3 } })
  })
})

describe('recentSlots', () => {
  it('lists the latest slots at or before now, newest first', () => {
    const job = parseWithSchema(syncJobSchema, { schedule: '*/5 * * * *' }, 'test job')
    expect(recentSlots(job, 3, new Date('2031-03-01T12:10:00.000Z'))).toEqual([new Date('2031-03-01T12:10:00.000Z'), new Date('2031-03-01T12:05:00.000Z'), new Date('2031-03-01T12:00:00.000Z')])
    expect(recentSlots(job, 2, new Date('2031-03-01T12:09:59.000Z'))).toEqual([new Date('2031-03-01T12:05:00.000Z'), new Date('2031-03-01T12:00:00.000Z')])
  })
})

import type { SyncJobConfig } from '../../config/sync-jobs.ts'
import type { RecordMutation, RecordSnapshot } from '../../ports/ledger.ts'
import type { SyncProgress } from '../agent-api.ts'
import { checkLease, decideEvent, finishRecord, type EventResult, type NewRequestSpec } from '../record-machine.ts'
import { iso } from '../record-state.ts'
import type { SyncJobState, SyncRunSpec, Watermark } from '../sync-types.ts'
import { SYNC_RECORD_TYPE } from '../sync-types.ts'
import { recordKeyOf, type EventRef, type RecordState, type RelayRequest } from '../types.ts'
import { applyProgress, hasStarted, jobAfterCheckpoint } from './run-state.ts'
import { dueSlot, scheduledMode } from './schedule.ts'

/**
 * Sync runs as decide functions for Ledger.mutateRecord on the job's record: triggers (schedule,
 * admin), checkpoints, cancel and watermark reset. The run's lease, retry and fencing are the
 * record state machine's (record-machine.ts), unchanged.
 */

/** The job's record key: a run is an execute request whose record is the job. */
export const jobRecordKey = (source: string, job: string): string => recordKeyOf(source, job, SYNC_RECORD_TYPE)

/** A new run request for `job` (queued by the state machine like any request). */
export function runRequestSpec(id: string, source: string, job: string, config: Pick<SyncJobConfig, 'maxAttempts'>): NewRequestSpec {
  return { id, source, recordKey: jobRecordKey(source, job), recordId: job, recordType: SYNC_RECORD_TYPE, mode: 'async', maxAttempts: config.maxAttempts }
}

/** The job's record, or a fresh idle one that holds only the job's state. */
function jobRecord(snapshot: RecordSnapshot, spec: NewRequestSpec, now: Date): RecordState {
  return snapshot.record ?? { source: spec.source, recordKey: spec.recordKey, state: 'idle', dirty: false, pendingEvents: [], updatedAt: iso(now), rev: 0 }
}

export interface TriggerInput {
  request: NewRequestSpec
  event: EventRef & { sync: SyncRunSpec }
  now: Date
}

/**
 * A trigger for a job: a run is created (idle), joins the queued run (coalesced: one run for
 * both), or waits for the running one to end (deferred: exactly one more run follows). A run that
 * started and waits for a retry counts as running: it reads what it fixed at its start.
 */
export function decideTrigger(snapshot: RecordSnapshot, input: TriggerInput): RecordMutation<EventResult> {
  const record = snapshot.record
  const current = record?.requestId ? snapshot.requests.get(record.requestId) : undefined
  if (record?.state === 'queued' && current?.state === 'queued' && hasStarted(current)) {
    const running: RecordSnapshot = { record: { ...record, state: 'processing' }, requests: new Map(snapshot.requests).set(current.id, { ...current, state: 'leased' }) }
    const deferred = decideEvent(running, { request: input.request, event: input.event, now: input.now })
    return { ...deferred, ...(deferred.record ? { record: { ...deferred.record, state: 'queued' } } : {}), requests: (deferred.requests ?? []).filter((request) => request.id !== current.id) }
  }
  return decideEvent(snapshot, { request: input.request, event: input.event, now: input.now })
}

export type ScheduleResult = { outcome: 'none' | 'anchored' } | (EventResult & { slot: string; missed: boolean })

/**
 * The scheduler's tick for one job: if a slot passed since the last one it turned into a run,
 * trigger one run for it (several missed slots make ONE catch-up run). The slot is consumed in
 * the same write, so two schedulers ticking at once create one run.
 */
export function decideSchedule(snapshot: RecordSnapshot, input: { request: NewRequestSpec; config: SyncJobConfig; now: Date }): RecordMutation<ScheduleResult> {
  const { config, now } = input
  const record = jobRecord(snapshot, input.request, now)
  const job: SyncJobState = record.job ?? {}
  let slot: { at: string; missed: boolean }
  if (job.lastScheduledAt === undefined) {
    const firstSeen: SyncJobState = { ...job, firstSeenAt: iso(now), lastScheduledAt: iso(now) }
    if (config.firstRun !== 'immediately') return { record: { ...record, job: firstSeen, updatedAt: iso(now) }, result: { outcome: 'anchored' } }
    slot = { at: iso(now), missed: false }
  } else {
    const due = dueSlot(config, job.lastScheduledAt, now)
    if (!due) return { result: { outcome: 'none' } }
    slot = { at: iso(due.slot), missed: due.missed }
  }
  const runNumber = (job.scheduledRuns ?? 0) + 1
  const scheduled: RecordState = { ...record, job: { firstSeenAt: iso(now), ...job, lastScheduledAt: slot.at, scheduledRuns: runNumber } }
  const trigger = slot.missed ? 'catch-up' : 'schedule'
  const event = { deliveryId: `schedule:${slot.at}`, event: `sync.${trigger}`, receivedAt: iso(now), sync: { mode: scheduledMode(config, runNumber), trigger } }
  const decided = decideTrigger({ ...snapshot, record: scheduled }, { request: input.request, event, now })
  return { ...decided, record: decided.record ?? { ...scheduled, updatedAt: iso(now) }, result: { ...decided.result, slot: slot.at, missed: slot.missed } }
}

export type CheckpointStatus = 'ok' | 'lease_lost' | 'invalid_lease'

/**
 * An agent committed a chunk: the run's position and totals move, and (incremental run over an
 * ordered source) the job's watermark too, atomically. Only the live lease may write: a late call
 * from an expired or cancelled lease is refused, so a resumed run is never moved back.
 */
export function decideCheckpoint(snapshot: RecordSnapshot, input: { requestId: string; leaseId: string; agentId: string; progress: SyncProgress; now: Date }): RecordMutation<{ status: CheckpointStatus }> {
  const { now } = input
  const check = checkLease(snapshot, input.requestId, input.leaseId, input.agentId)
  if (!check.ok || !check.request.lease || Date.parse(check.request.lease.expiresAt) <= now.getTime()) return { result: { status: 'lease_lost' } }
  const { request } = check
  if (!request.sync) return { result: { status: 'invalid_lease' } }
  const run = applyProgress(request.sync, input.progress, true)
  const updated: RelayRequest = { ...request, sync: run, updatedAt: iso(now) }
  const record = snapshot.record
  if (!record) return { requests: [updated], result: { status: 'ok' } }
  const job = jobAfterCheckpoint(record.job ?? {}, run, now)
  return { record: { ...record, job, updatedAt: iso(now) }, requests: [updated], result: { status: 'ok' } }
}

export type CancelResult = { status: 'cancelled'; next?: RelayRequest } | { status: 'not_active'; state?: RelayRequest['state'] }

/**
 * Cancels a queued or running run: it is discarded with the reason, its lease ends (the agent's
 * next checkpoint or ack answers lease_lost) and the job keeps the watermark its checkpoints
 * committed. Triggers that arrived during the run still get their one more run.
 */
export function decideCancel(snapshot: RecordSnapshot, input: { requestId: string; by: string; now: Date; retentionSeconds: number; nextRequestId: string }): RecordMutation<CancelResult> {
  const { now } = input
  const run = snapshot.requests.get(input.requestId)
  if (!run || (run.state !== 'queued' && run.state !== 'leased')) return { result: { status: 'not_active', ...(run ? { state: run.state } : {}) } }
  const error = { code: 'run.cancelled', message: `cancelled by ${input.by}` }
  const cancelled: RelayRequest = {
    ...run,
    state: 'discarded',
    discardReason: `cancelled by ${input.by}`,
    history: run.history.map((attempt) => (attempt.leaseId === run.lease?.id && !attempt.endedAt ? { ...attempt, endedAt: iso(now), outcome: 'fail', durationMs: now.getTime() - Date.parse(attempt.startedAt), error } : attempt)),
    updatedAt: iso(now),
    expiresAt: Math.floor(now.getTime() / 1000) + input.retentionSeconds,
  }
  delete cancelled.lease
  delete cancelled.nextAttemptAt
  return finishRecord(snapshot, cancelled, now, (next) => ({ status: 'cancelled', ...(next ? { next } : {}) }), input)
}

export type ResetResult = { status: 'reset'; job: SyncJobState } | { status: 'run_active'; requestId: string }

/** Sets (or clears, `to: null`) the job's watermark. Refused while a run that has started holds the job. */
export function decideReset(snapshot: RecordSnapshot, input: { request: NewRequestSpec; to: Watermark | null; now: Date }): RecordMutation<ResetResult> {
  const { now } = input
  const record = jobRecord(snapshot, input.request, now)
  const current = record.requestId ? snapshot.requests.get(record.requestId) : undefined
  if (current && (current.state === 'leased' || (current.state === 'queued' && hasStarted(current)))) return { result: { status: 'run_active', requestId: current.id } }
  const job: SyncJobState = { ...record.job }
  if (input.to === null) delete job.watermark
  else job.watermark = input.to
  job.watermarkAt = iso(now)
  return { record: { ...record, job, updatedAt: iso(now) }, result: { status: 'reset', job } }
}

import type { RecordState, EventRef, RelayRequest } from '../types.ts'
import type { SyncGrant, SyncProgress } from '../agent-api.ts'
import { MAX_EVENTS_KEPT } from '../types.ts'
import { keepLast } from '../record-state.ts'
import { MAX_RUN_ERRORS_KEPT, SYNC_RECORD_TYPE, ZERO_COUNTS, type SyncJobState, type SyncRunSpec, type SyncRunState } from '../sync-types.ts'
import { promoteWatermark } from './watermark.ts'

/**
 * A sync run's own state on its request: fixed at its first lease, moved by checkpoints, closed
 * when it ends. The record state machine (record-machine.ts) calls these where a run differs.
 */
export const isSyncRun = (request: Pick<RelayRequest, 'recordType'>): boolean => request.recordType === SYNC_RECORD_TYPE

/** Runs with different `ids` or `since` read different things: only triggers of one kind share a run. */
const kindOf = (spec: SyncRunSpec | undefined): string => (spec?.ids ? 'ids' : spec?.since ? `since:${JSON.stringify(spec.since)}` : 'changes')

/**
 * The first lease of a run fixes what it reads: merged from the triggers folded into it (full if
 * any asked for full, the union of ids), starting at `since` or the job's watermark, up to now
 * minus the job's lag. Triggers of another kind go back to the record: one more run follows.
 */
export function startRun(request: RelayRequest, record: RecordState, now: Date, lagSeconds: number): { request: RelayRequest; record: RecordState } {
  if (!isSyncRun(request) || request.sync) return { request, record }
  const kind = kindOf(request.events[0]?.sync)
  const taken = request.events.filter((event) => kindOf(event.sync) === kind)
  const later = request.events.filter((event) => kindOf(event.sync) !== kind)
  const specs = taken.map((event) => event.sync).filter((spec): spec is SyncRunSpec => spec !== undefined)
  const mode = specs.some((spec) => spec.mode === 'full') ? 'full' : 'incremental'
  const ids = kind === 'ids' ? [...new Set(specs.flatMap((spec) => spec.ids ?? []))] : undefined
  const since = specs.find((spec) => spec.since)?.since
  const startWatermark = ids || mode === 'full' ? undefined : (since ?? record.job?.watermark)
  const sync: SyncRunState = {
    job: request.recordId,
    mode,
    ...(ids ? { ids } : {}),
    ...(startWatermark ? { startWatermark } : {}),
    ...(ids ? {} : { until: new Date(now.getTime() - lagSeconds * 1000).toISOString() }),
    counts: { ...ZERO_COUNTS },
    errors: [],
    startedAt: now.toISOString(),
    trigger: specs[0]?.trigger ?? 'schedule',
    triggers: request.eventCount - later.length,
    chunks: 0,
  }
  const started: RelayRequest = { ...request, events: taken, eventCount: request.eventCount - later.length, sync }
  return { request: started, record: later.length > 0 ? deferTriggers(record, later) : record }
}

/** Triggers that wait on the record for one more run after the current one. */
function deferTriggers(record: RecordState, events: EventRef[]): RecordState {
  return { ...record, dirty: true, pendingEvents: keepLast([...record.pendingEvents, ...events], MAX_EVENTS_KEPT) }
}

/**
 * A retry folds triggers that arrived during a run into it (as for webhooks), but a started run
 * reads what it fixed at its start: on its next claim those triggers go back to the record.
 */
export function reclaimTriggers(request: RelayRequest, record: RecordState | undefined): { request: RelayRequest; record: RecordState | undefined } {
  const taken = request.sync?.triggers
  if (!record || taken === undefined || request.eventCount <= taken) return { request, record }
  const extra = Math.min(request.eventCount - taken, request.events.length)
  const later = request.events.slice(request.events.length - extra)
  return {
    request: { ...request, events: request.events.slice(0, request.events.length - extra), eventCount: taken },
    record: deferTriggers(record, later),
  }
}

/** A started run whose record is queued is waiting for a retry: a trigger must not join it. */
export const hasStarted = (request: RelayRequest | undefined): boolean => request?.sync?.startedAt !== undefined

/** What an agent is told to read (see SyncGrant). */
export function syncGrantOf(request: RelayRequest): SyncGrant | undefined {
  const run = request.sync
  if (!run) return undefined
  const after = run.checkpoint ?? run.startWatermark
  return {
    runId: request.id,
    job: run.job,
    mode: run.mode,
    ...(run.ids ? { ids: run.ids } : {}),
    ...(after ? { after } : {}),
    ...(run.until ? { until: run.until } : {}),
    counts: run.counts,
  }
}

/** The run after a committed chunk (or its final summary): totals replace, errors append (bounded). */
export function applyProgress(run: SyncRunState, progress: SyncProgress, chunk: boolean): SyncRunState {
  return {
    ...run,
    ...(progress.checkpoint ? { checkpoint: progress.checkpoint } : {}),
    counts: { ...run.counts, ...progress.counts },
    errors: keepLast([...run.errors, ...progress.errors], MAX_RUN_ERRORS_KEPT),
    chunks: (run.chunks ?? 0) + (chunk ? 1 : 0),
    promote: (run.promote ?? true) && progress.promote,
  }
}

/**
 * The job after a checkpoint: an incremental run over an ordered source moves the job's watermark
 * with every committed chunk, so a failed run keeps what it committed. A full run, a run over ids
 * and an unordered source move it only when they complete (jobAfterRun).
 */
export function jobAfterCheckpoint(job: SyncJobState, run: SyncRunState, now: Date): SyncJobState {
  if (run.mode !== 'incremental' || run.ids || run.promote === false || !run.checkpoint) return job
  return promoteWatermark(job, run.checkpoint, now)
}

/** The job after a run ended: its last run, and (done only) the watermark at the final checkpoint. */
export function jobAfterRun(job: SyncJobState, ended: RelayRequest, now: Date): SyncJobState {
  const run = ended.sync
  const error = ended.state === 'done' ? undefined : (ended.discardReason ?? ended.lastError?.message)
  const lastRun = { id: ended.id, mode: run?.mode ?? 'incremental', state: ended.state, finishedAt: now.toISOString(), counts: run?.counts ?? { ...ZERO_COUNTS }, ...(error ? { error } : {}) }
  if (ended.state !== 'done' || !run || run.ids) return { ...job, lastRun }
  // A complete run confirms the watermark even when nothing changed (the lag alert counts from here).
  const promoted = run.checkpoint ? promoteWatermark(job, run.checkpoint, now) : job
  return { ...promoted, watermarkAt: now.toISOString(), lastRun }
}

/** A run's request as it ends (finishedAt stamped), or any other request unchanged. */
export function stampRunEnd(ended: RelayRequest, now: Date): RelayRequest {
  return ended.sync ? { ...ended, sync: { ...ended.sync, finishedAt: now.toISOString() } } : ended
}

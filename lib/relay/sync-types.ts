/**
 * The scheduled half's data model (sync jobs and runs), shared by the cloud and the agent.
 *
 * A sync run is an execute request whose "record" is the job: record key
 * `recordKeyOf(source, job, SYNC_RECORD_TYPE)`. It is therefore queued, leased, extended, fenced,
 * retried, dead-lettered and listed exactly like a webhook's request, and the per-record state
 * machine gives "at most one run per job" (invariant 3) and "a trigger during a run causes exactly
 * one more run" (invariant 2: missed schedules are caught up once, not N times) for free. The
 * job's own state (its watermark) lives on the job's RecordState, so a checkpoint updates the run
 * and the job atomically in one Ledger.mutateRecord.
 */

/** The record type of a sync job's record key; webhook record types never start with "@". */
export const SYNC_RECORD_TYPE = '@sync'
export const MAX_RUN_ERRORS_KEPT = 100

/** A position in a source's `(cursor, key)` order: every record up to and including it is committed. */
export interface Watermark {
  cursor: string | number
  key: string | number
}

/** What a trigger (the schedule, `hookferry sync start`, a resend) asks of a run. */
export interface SyncRunSpec {
  mode: 'incremental' | 'full'
  /** Start after this watermark instead of the job's own. */
  since?: Watermark
  /** Read only these record ids (resend on request), through the list/fetch connector. */
  ids?: string[]
  /** Who asked: `schedule`, `admin`, `catch-up`. */
  trigger: string
}

export interface SyncCounts {
  read: number
  written: number
  unchanged: number
  stale: number
  rejected: number
  deleted: number
  pages: number
}
export const ZERO_COUNTS: SyncCounts = { read: 0, written: 0, unchanged: 0, stale: 0, rejected: 0, deleted: 0, pages: 0 }

/** A record a run could not deliver (also kept in the database sinks' reject table). */
export interface RunError {
  key: string
  code?: string
  message: string
  at: string
}

/** A run's progress, on its RelayRequest (`request.sync`). */
export interface SyncRunState {
  job: string
  mode: 'incremental' | 'full'
  ids?: string[]
  /** Where the run began (the job's watermark, or `since`), fixed when it is first leased. */
  startWatermark?: Watermark
  /** Upper bound for time cursors: first lease time minus the job's lag, ISO. Never passed. */
  until?: string
  /** The last committed position of this run (resume point after a crash). */
  checkpoint?: Watermark
  counts: SyncCounts
  errors: RunError[]
  startedAt?: string
  finishedAt?: string
  /** Who asked for the run (`schedule`, `catch-up`, `admin`), from its first trigger. */
  trigger?: string
  /** Triggers the run took when it started; later ones wait for one more run. */
  triggers?: number
  /** Checkpoints (committed chunks) so far. */
  chunks?: number
  /** false once the agent said the source is read in no particular order (promote only at the end). */
  promote?: boolean
}

/** A job's state, on its RecordState (`record.job`). */
export interface SyncJobState {
  /** Where the next incremental run starts; promoted only after commits. */
  watermark?: Watermark
  /** When the watermark last moved, or a complete run confirmed it (for the watermark-lag alert). */
  watermarkAt?: string
  /** When the scheduler first saw the job (the lag alert's start before any run completed). */
  firstSeenAt?: string
  /** The schedule slot last turned into a run (catch-up creates one run for all missed slots). */
  lastScheduledAt?: string
  /** Full runs started by the schedule (for `fullEvery`). */
  scheduledRuns?: number
  lastRun?: { id: string; mode: 'incremental' | 'full'; state: string; finishedAt: string; counts: SyncCounts; error?: string }
}

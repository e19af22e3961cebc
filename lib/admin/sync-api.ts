import * as z from 'zod/mini'
import '../config/zod.ts'
import type { AttemptRecord, ErrorSummary, EventRef, RequestState } from '../relay/types.ts'
import { REQUEST_STATES } from '../relay/types.ts'
import type { RunError, SyncCounts, SyncJobState, Watermark } from '../relay/sync-types.ts'
import { MAX_ADMIN_LIST_LIMIT } from './admin-api.ts'

/** Admin API v1, scheduled sync: jobs, runs, start, reset and cancel (see admin-api.ts for the rest). */
const name = z.string().check(z.minLength(1), z.maxLength(256))
const watermarkValue = z.union([z.string().check(z.maxLength(1000)), z.number()])
/** `{cursor, key}`; a cursor alone gets key "" (it sorts before every key: everything at that cursor is read). */
export const watermarkInputSchema = z.strictObject({ cursor: watermarkValue, key: z._default(watermarkValue, '') })

export const listRunsQuerySchema = z.strictObject({
  source: z.optional(name),
  /** Needs `source` (job names are per source). */
  job: z.optional(name),
  state: z.optional(z.enum(REQUEST_STATES as [RequestState, ...RequestState[]])),
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(MAX_ADMIN_LIST_LIMIT)), 50),
  /** Only with source and job. */
  cursor: z.optional(z.string().check(z.maxLength(4096))),
})
export type ListRunsQuery = z.infer<typeof listRunsQuerySchema>

export const startSyncBodySchema = z
  .strictObject({
    /** A full refresh instead of the job's incremental read. */
    full: z._default(z.boolean(), false),
    /** Start after this position instead of the job's watermark (incremental only). */
    since: z.optional(watermarkInputSchema),
    /** Read just these record ids (resend on request). */
    ids: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(1000))).check(z.minLength(1), z.maxLength(1000))),
  })
  .check(
    z.refine((body) => !(body.full && body.since), { message: 'a full run reads everything: give full or since, not both', path: ['since'] }),
    z.refine((body) => !(body.ids && (body.full || body.since)), { message: 'a run over ids reads just those: leave out full and since', path: ['ids'] }),
  )
export type StartSyncBody = z.infer<typeof startSyncBodySchema>

export const resetSyncBodySchema = z.strictObject({
  /** The job's new watermark; null: the next incremental run reads from the beginning. */
  to: z.nullable(watermarkInputSchema),
})
export type ResetSyncBody = z.infer<typeof resetSyncBodySchema>

/** One run in a list. */
export interface RunSummary {
  id: string
  source: string
  job: string
  state: RequestState
  mode: 'incremental' | 'full'
  /** schedule, catch-up or admin. */
  trigger?: string
  /** Record ids asked for (a resend), when the run reads just those. */
  idCount?: number
  counts: SyncCounts
  /** Checkpoints (committed chunks). */
  chunks: number
  errorCount: number
  attempts: number
  maxAttempts: number
  createdAt: string
  updatedAt: string
  startedAt?: string
  finishedAt?: string
  /** From start to finish, or to now while it runs. */
  durationSeconds?: number
  leasedBy?: string
  lastError?: ErrorSummary
  discardReason?: string
}

export interface RunDetail extends RunSummary {
  ids?: string[]
  startWatermark?: Watermark
  checkpoint?: Watermark
  until?: string
  leaseExpiresAt?: string
  nextAttemptAt?: string
  errors: RunError[]
  triggers: EventRef[]
  attemptHistory: AttemptRecord[]
}

export interface RunPageResponse {
  items: RunSummary[]
  cursor?: string
}

export interface RunDetailResponse {
  run: RunDetail
}

export interface SyncJobView {
  source: string
  job: string
  schedule: string
  timezone: string
  mode: 'incremental' | 'full'
  fullEvery?: number
  lagSeconds: number
  nextRunAt?: string
  lastScheduledAt?: string
  watermark?: Watermark
  watermarkAt?: string
  /** Seconds since the watermark moved or a complete run confirmed it (since the job appeared, before that). */
  watermarkAgeSeconds?: number
  /** The watermark has not moved for more than `alertAfterIntervals` schedule intervals. */
  stalled: boolean
  lastRun?: SyncJobState['lastRun']
  /** The run waiting or running now. */
  running?: RunSummary
}

export interface SyncsResponse {
  serverTime: string
  jobs: SyncJobView[]
}

export interface StartSyncResponse {
  runId: string
  /** created: a new run. coalesced: joined the run already waiting. deferred: runs after the current one ends. */
  status: 'created' | 'coalesced' | 'deferred'
}

export interface ResetSyncResponse {
  source: string
  job: string
  watermark?: Watermark
}

export interface CancelRunResponse {
  runId: string
  status: 'cancelled'
  /** The run that follows for triggers that arrived meanwhile. */
  nextRunId?: string
}

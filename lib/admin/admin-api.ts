import * as z from 'zod/mini'
import '../config/zod.ts'
import { REQUEST_STATES, type AgentStatus, type AttemptRecord, type ErrorSummary, type EventRef, type RecordState, type RequestState } from '../relay/types.ts'

/**
 * Admin API v1: the wire contract between the cloud half and `hookferry` admin commands. The
 * server validates queries and bodies with these schemas; the CLI types its calls with them.
 */
export const ADMIN_API_PREFIX = '/admin/v1'
export const MAX_ADMIN_LIST_LIMIT = 1000
/** A bulk replay handles at most this many dead letters per call (the CLI continues with the cursor). */
export const MAX_REPLAY_BATCH = 500

const isoTime = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time such as 2026-01-31T12:00:00Z' })
const limit = (max: number, fallback: number) => z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(max)), fallback)
const name = z.string().check(z.minLength(1), z.maxLength(256))

export const listRequestsQuerySchema = z.strictObject({
  source: z.optional(name),
  state: z.optional(z.enum(REQUEST_STATES as [RequestState, ...RequestState[]])),
  /** The record id inside its source. */
  record: z.optional(name),
  /** On updatedAt: inclusive. */
  since: z.optional(isoTime),
  /** On updatedAt: exclusive. */
  until: z.optional(isoTime),
  limit: limit(MAX_ADMIN_LIST_LIMIT, 100),
  cursor: z.optional(z.string().check(z.maxLength(4096))),
})
export type ListRequestsQuery = z.infer<typeof listRequestsQuerySchema>

export const replayDeadLettersBodySchema = z.strictObject({
  source: z.optional(name),
  /** Dead letters whose updatedAt (when they died) is at or after this time. */
  since: z.optional(isoTime),
  /** ... and before this time. */
  until: z.optional(isoTime),
  limit: limit(MAX_REPLAY_BATCH, 100),
  cursor: z.optional(z.string().check(z.maxLength(4096))),
})
export type ReplayDeadLettersBody = z.infer<typeof replayDeadLettersBodySchema>

export const discardBodySchema = z.strictObject({
  reason: z.string().check(z.trim(), z.minLength(1, 'give a reason (it is kept with the request)'), z.maxLength(500)),
})
export type DiscardBody = z.infer<typeof discardBodySchema>

/** One request in a list: no events, history or payload (see RequestDetail for those). */
export interface RequestSummary {
  id: string
  source: string
  recordId: string
  recordType?: string
  state: RequestState
  mode: 'async' | 'sync'
  eventCount: number
  lastEvent?: string
  attempts: number
  maxAttempts: number
  createdAt: string
  updatedAt: string
  nextAttemptAt?: string
  /** The agent holding the lease, while leased. */
  leasedBy?: string
  lastError?: ErrorSummary
  discardReason?: string
}

export interface RequestPageResponse {
  items: RequestSummary[]
  cursor?: string
}

/** One request with its full history. A forwarded payload is never returned, only whether there is one. */
export interface RequestDetail extends RequestSummary {
  recordKey: string
  sentAt?: string
  leaseExpiresAt?: string
  events: EventRef[]
  attemptHistory: AttemptRecord[]
  hasPayload: boolean
  /** Status of the sync reply, when there was one. */
  replyStatus?: number
}

export interface RequestDetailResponse {
  request: RequestDetail
  /** The record's state now: which request it waits on or is processing. */
  record?: Pick<RecordState, 'state' | 'requestId' | 'dirty' | 'updatedAt'> & { pendingEvents: number }
}

export type ReplayResponse =
  | { requestId: string; status: 'requeued' }
  | { requestId: string; status: 'folded'; intoRequestId: string }

export interface DiscardResponse {
  requestId: string
  status: 'discarded'
}

export interface BulkReplayCounts {
  /** Queued again. */
  replayed: number
  /** Folded into work already waiting or running for the same record. */
  folded: number
  /** No longer dead when reached (replayed or discarded meanwhile). */
  skipped: number
  /** Could not be replayed (storage error; logged). They stay dead. */
  failed: number
}

export interface BulkReplayResponse extends BulkReplayCounts {
  /** Set when the limit was hit and more dead letters may match: send it back to continue. */
  cursor?: string
}

/** Requests waiting for an agent (state queued). */
export interface Backlog {
  queued: number
  /** Of those, waiting for a retry time that has not come yet (not pullable yet). */
  retrying: number
  /** When the longest-waiting pullable request became pullable (queued, or its retry time came). */
  oldestWaitingSince?: string
  oldestWaitingRequestId?: string
  /** 0 when nothing is waiting. */
  oldestWaitingAgeSeconds: number
  /** The scan stopped at its cap: counts are lower bounds. */
  truncated: boolean
}

export interface AgentView extends AgentStatus {
  silentSeconds: number
}

export interface AgentsResponse {
  serverTime: string
  agents: AgentView[]
  backlog: Backlog
}

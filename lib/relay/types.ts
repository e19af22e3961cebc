import type { SyncJobState, SyncRunSpec, SyncRunState } from './sync-types.ts'

/**
 * The relay's data model: what the ledger stores. The cloud keeps ids, event metadata and
 * states — never full records unless a source opts in with `forwardPayload`.
 */

/**
 * queued: waiting for an agent (first attempt, or a retry after `nextAttemptAt`); leased: an agent
 * holds it; deferred: events arrived while the record's previous request was being processed, and
 * this request handles them once that one ends (it is queued then, never earlier: invariant 3).
 */
export type RequestState = 'queued' | 'leased' | 'deferred' | 'done' | 'dead' | 'discarded'
export const REQUEST_STATES: readonly RequestState[] = ['queued', 'leased', 'deferred', 'done', 'dead', 'discarded']

export interface ErrorSummary {
  code?: string
  message: string
}

/** One webhook event folded into a request. */
export interface EventRef {
  deliveryId: string
  event?: string
  receivedAt: string
  /** Sync jobs: what this trigger asks of the run (merged over the events folded into the run). */
  sync?: SyncRunSpec
}

export type AttemptOutcome = 'done' | 'retry' | 'fail' | 'lease_expired' | 'released'

export interface AttemptRecord {
  attempt: number
  agentId: string
  leaseId: string
  startedAt: string
  endedAt?: string
  outcome?: AttemptOutcome
  error?: ErrorSummary
  durationMs?: number
}

/** The agent's answer in request/reply (sync) mode. */
export interface SyncReply {
  status: number
  headers: Record<string, string>
  body: string
}

export interface Lease {
  id: string
  agentId: string
  expiresAt: string
  /** The agent process that holds it (see PullRequest.incarnation): a restarted agent takes it back at once. */
  incarnation?: string
}

/** One execute request: "fetch record X of source S and deliver it". */
export interface RelayRequest {
  id: string
  source: string
  recordKey: string
  recordId: string
  recordType?: string
  mode: 'async' | 'sync'
  state: RequestState
  createdAt: string
  updatedAt: string
  /** Set once the queue confirmed the message; a queued request without it is repaired (re-sent). */
  sentAt?: string
  /** The most recent events folded into this request (bounded: MAX_EVENTS_KEPT). */
  events: EventRef[]
  eventCount: number
  attempts: number
  maxAttempts: number
  nextAttemptAt?: string
  lease?: Lease
  lastError?: ErrorSummary
  /** Attempts in order (bounded: MAX_HISTORY_KEPT). */
  history: AttemptRecord[]
  /** The webhook body, only for sources with forwardPayload. */
  payload?: unknown
  reply?: SyncReply
  /** Why a dead letter was discarded. */
  discardReason?: string
  /** Sync runs only: the run's progress. */
  sync?: SyncRunState
  /** Epoch seconds after which the ledger may drop the request (TTL); never set on dead letters. */
  expiresAt?: number
  /** Optimistic-concurrency revision, maintained by the ledger adapter. */
  rev: number
}

/** Per-record state: the heart of coalescing and of "one in flight per record". */
export interface RecordState {
  source: string
  recordKey: string
  /** idle: nothing pending. queued: `requestId` waits in the queue. processing: `requestId` is leased. */
  state: 'idle' | 'queued' | 'processing'
  requestId?: string
  /** An event arrived while processing: exactly one more fetch follows when the current one ends. */
  dirty: boolean
  /** While dirty: the deferred request that will make that fetch (its id is what the 202 named). */
  nextRequestId?: string
  /** Events received while dirty (for history). */
  pendingEvents: EventRef[]
  /** Latest forwarded payload among the pending events (forwardPayload sources only). */
  pendingPayload?: unknown
  /** Sync jobs only: the job's watermark and last run. Never expires. */
  job?: SyncJobState
  updatedAt: string
  expiresAt?: number
  rev: number
}

export interface AgentStatus {
  agentId: string
  version: string
  hostname?: string
  inFlight: number
  lastHeartbeatAt: string
  /** The agent's open circuit breakers (a sink or SaaS API that is down), from its last heartbeat. */
  breakers?: { name: string; state: 'open' | 'half-open' | 'closed'; since?: string; held: number; lastError?: string }[]
}

export const MAX_EVENTS_KEPT = 20
export const MAX_HISTORY_KEPT = 50

/** The record's identity inside a source: type and id. */
export function recordKeyOf(source: string, recordId: string, recordType?: string): string {
  return `${source}#${recordType ?? ''}#${recordId}`
}

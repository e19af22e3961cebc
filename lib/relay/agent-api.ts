import * as z from 'zod/mini'
import '../config/zod.ts'
import type { SyncCounts, Watermark } from './sync-types.ts'

/**
 * Agent API v1: the wire contract between the cloud and the on-prem agent. The server validates
 * requests with these schemas and the agent client types its calls with them. A breaking change
 * is /agent/v2, never an edit here.
 */
export const AGENT_API_PREFIX = '/agent/v1'
/** Leases one pull may ask for; the server gathers them from several queue receives (the queue port takes 10 at a time, as SQS does). */
export const MAX_PULL_BATCH = 100
export const MAX_PULL_WAIT_IN_SECONDS = 20
export const MAX_LEASE_IN_SECONDS = 43_200

const errorSummary = z.object({
  code: z.optional(z.string().check(z.maxLength(200))),
  message: z.string().check(z.maxLength(4000)),
})


export interface LeaseGrant {
  /** Opaque lease token: pass it back to ack/extend. */
  lease: string
  requestId: string
  source: string
  recordId: string
  recordType?: string
  /** Latest event name folded into this request. */
  event?: string
  events: { deliveryId: string; event?: string; receivedAt: string }[]
  eventCount: number
  /** 1 for the first attempt. */
  attempt: number
  maxAttempts: number
  leaseExpiresAt: string
  mode: 'async' | 'sync'
  /** Only for sources with forwardPayload: the latest webhook body. */
  payload?: unknown
  /** Set when the lease is a scheduled sync run (recordId is the job name): what to read. */
  sync?: SyncGrant
}

/** A sync run as leased to an agent (see sync-types.ts). */
export interface SyncGrant {
  /** The run's id (its request id). */
  runId: string
  job: string
  mode: 'incremental' | 'full'
  /** Read only these record ids. */
  ids?: string[]
  /** Read records strictly after this `(cursor, key)` position; absent: from the beginning. */
  after?: Watermark
  /** Upper bound (ISO time) for time cursors; records changed later wait for the next run. */
  until?: string
  /** Counts so far (non-zero when the run resumes after a crash). */
  counts: SyncCounts
}
export interface PullResponse {
  leases: LeaseGrant[]
  /** The results of the acks the pull carried, in their order; absent when it carried none. */
  acks?: AckResponse['results']
}

const watermarkSchema = z.object({
  cursor: z.union([z.string().check(z.maxLength(1000)), z.number()]),
  key: z.union([z.string().check(z.maxLength(1000)), z.number()]),
})
const count = z._default(z.number().check(z.int(), z.gte(0)), 0)
const syncCountsSchema = z.object({ read: count, written: count, unchanged: count, stale: count, rejected: count, deleted: count, pages: count })
const runErrorSchema = z.object({ key: z.string().check(z.maxLength(1000)), code: z.optional(z.string().check(z.maxLength(200))), message: z.string().check(z.maxLength(4000)), at: z.string() })

/** A sync run's progress after a committed chunk, or its final summary (ack done). */
export const syncProgressSchema = z.object({
  /** The last committed `(cursor, key)`; everything before it is at the sink. */
  checkpoint: z.optional(watermarkSchema),
  /** Totals of the run so far (not deltas), so a repeated call is harmless. */
  counts: syncCountsSchema,
  /** Records rejected since the last call (appended to the run's bounded error list). */
  errors: z._default(z.array(runErrorSchema).check(z.maxLength(100)), []),
  /** false for a source read in no particular order: the job's watermark moves only at the end of a complete run. */
  promote: z._default(z.boolean(), true),
})
export type SyncProgress = z.infer<typeof syncProgressSchema>

/** POST /agent/v1/checkpoint: a sync run committed a chunk. */
export const checkpointRequestSchema = z.object({
  lease: z.string().check(z.minLength(1)),
  progress: syncProgressSchema,
})
export type CheckpointRequest = z.infer<typeof checkpointRequestSchema>
/** ok: recorded. lease_lost: the run moved on (cancelled, or the lease expired): stop working on it. */
export interface CheckpointResponse {
  status: 'ok' | 'lease_lost' | 'invalid_lease'
}

export const ackItemSchema = z.discriminatedUnion('outcome', [
  z.object({
    lease: z.string().check(z.minLength(1)),
    outcome: z.literal('done'),
    /** Sync sources: the reply returned to the webhook caller. */
    reply: z.optional(
      z.object({
        status: z.number().check(z.int(), z.gte(100), z.lte(599)),
        headers: z._default(z.record(z.string(), z.string()), {}),
        body: z._default(z.string().check(z.maxLength(256 * 1024)), ''),
      }),
    ),
    /** What was done, for history (e.g. "unchanged" when loop prevention skipped delivery). */
    note: z.optional(z.string().check(z.maxLength(200))),
    /** Sync runs: the final progress; the job's watermark moves to its checkpoint. */
    sync: z.optional(syncProgressSchema),
  }),
  z.object({
    lease: z.string().check(z.minLength(1)),
    outcome: z.literal('retry'),
    /** Wait before the next attempt; default: exponential backoff with full jitter. */
    delaySeconds: z.optional(z.number().check(z.gte(0), z.lte(MAX_LEASE_IN_SECONDS))),
    error: errorSummary,
  }),
  z.object({
    lease: z.string().check(z.minLength(1)),
    outcome: z.literal('fail'),
    error: errorSummary,
  }),
  z.object({
    /**
     * Give the lease back without counting an attempt: the agent is shutting down, or the far side
     * (the SaaS API, the sink) is unavailable, which is not the record's fault.
     */
    lease: z.string().check(z.minLength(1)),
    outcome: z.literal('release'),
    /** Wait this long before the request may be leased again (default 0: at once). */
    delaySeconds: z.optional(z.number().check(z.gte(0), z.lte(MAX_LEASE_IN_SECONDS))),
    /** Why it was given back, for the request's history. */
    error: z.optional(errorSummary),
  }),
])
/** Acks one call may carry (POST /ack, or riding on a pull). */
export const MAX_ACKS_PER_CALL = 100

export const ackRequestSchema = z.object({
  acks: z.array(ackItemSchema).check(z.minLength(1), z.maxLength(MAX_ACKS_PER_CALL)),
})
export type AckItem = z.infer<typeof ackItemSchema>
export type AckRequest = z.infer<typeof ackRequestSchema>

export const pullRequestSchema = z.object({
  /** Leases wanted, 1..100. */
  max: z._default(z.number().check(z.int(), z.gte(1), z.lte(MAX_PULL_BATCH)), MAX_PULL_BATCH),
  /** Long poll: answer as soon as work is there, or after this many seconds with none. */
  waitSeconds: z._default(z.number().check(z.gte(0), z.lte(MAX_PULL_WAIT_IN_SECONDS)), MAX_PULL_WAIT_IN_SECONDS),
  /** Lease length; the agent extends it for slow work. Default from the server config. */
  leaseSeconds: z.optional(z.number().check(z.int(), z.gte(5), z.lte(MAX_LEASE_IN_SECONDS))),
  /**
   * This agent process: `<start time in epoch ms>-<random>`, new at every start. When a newer one
   * pulls, the leases of the agent's earlier processes are taken back at once (a restarted agent
   * does not wait out its own crashed leases).
   */
  incarnation: z.optional(z.string().check(z.regex(/^\d{1,16}-[A-Za-z0-9-]{1,64}$/, 'expected <epoch ms>-<random id>'))),
  /**
   * Acks of finished work riding along (as POST /ack would take them): they are recorded first,
   * their results come back in the answer's `acks`. A busy agent so saves one call and one ledger
   * commit per batch. Agents send `waitSeconds: 0` with them, so the results are not held by a long poll.
   */
  acks: z.optional(z.array(ackItemSchema).check(z.maxLength(MAX_ACKS_PER_CALL))),
})
export type PullRequest = z.infer<typeof pullRequestSchema>

/** ok: recorded. lease_lost: the lease had expired and the request moved on (the work may be redone). dead_lettered: retry asked but attempts are used up. */
export type AckStatus = 'ok' | 'lease_lost' | 'dead_lettered' | 'invalid_lease'
export interface AckResponse {
  results: { lease: string; requestId?: string; status: AckStatus; nextAttemptAt?: string }[]
}

export const extendRequestSchema = z.object({
  leases: z
    .array(
      z.object({
        lease: z.string().check(z.minLength(1)),
        seconds: z.number().check(z.int(), z.gte(5), z.lte(MAX_LEASE_IN_SECONDS)),
      }),
    )
    .check(z.minLength(1), z.maxLength(100)),
})
export type ExtendRequest = z.infer<typeof extendRequestSchema>
export interface ExtendResponse {
  results: { lease: string; status: 'ok' | 'lease_lost' | 'invalid_lease'; leaseExpiresAt?: string }[]
}

export const heartbeatRequestSchema = z.object({
  version: z.string().check(z.maxLength(100)),
  hostname: z.optional(z.string().check(z.maxLength(255))),
  inFlight: z.number().check(z.int(), z.gte(0)),
  /** The agent's circuit breakers that are not closed: which far side is down, since when, how much is held. */
  breakers: z._default(
    z.array(
      z.object({
        name: z.string().check(z.maxLength(300)),
        state: z.enum(['open', 'half-open', 'closed']),
        since: z.optional(z.string().check(z.maxLength(40))),
        held: z.number().check(z.int(), z.gte(0)),
        lastError: z.optional(z.string().check(z.maxLength(1000))),
      }),
    ).check(z.maxLength(100)),
    [],
  ),
})
export type HeartbeatRequest = z.infer<typeof heartbeatRequestSchema>
/** What an agent sends (defaults filled in by the server). */
export type HeartbeatBody = z.input<typeof heartbeatRequestSchema>
export interface HeartbeatResponse {
  agentId: string
  serverTime: string
}

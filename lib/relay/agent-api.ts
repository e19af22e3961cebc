import * as z from 'zod/mini'
import '../config/zod.ts'

/**
 * Agent API v1: the wire contract between the cloud and the on-prem agent. The server validates
 * requests with these schemas and the agent client types its calls with them. A breaking change
 * is /agent/v2, never an edit here.
 */
export const AGENT_API_PREFIX = '/agent/v1'
export const MAX_PULL_BATCH = 10
export const MAX_PULL_WAIT_IN_SECONDS = 20
export const MAX_LEASE_IN_SECONDS = 43_200

const errorSummary = z.object({
  code: z.optional(z.string().check(z.maxLength(200))),
  message: z.string().check(z.maxLength(4000)),
})

export const pullRequestSchema = z.object({
  /** Leases wanted, 1..10. */
  max: z._default(z.number().check(z.int(), z.gte(1), z.lte(MAX_PULL_BATCH)), MAX_PULL_BATCH),
  /** Long poll: answer as soon as work is there, or after this many seconds with none. */
  waitSeconds: z._default(z.number().check(z.gte(0), z.lte(MAX_PULL_WAIT_IN_SECONDS)), MAX_PULL_WAIT_IN_SECONDS),
  /** Lease length; the agent extends it for slow work. Default from the server config. */
  leaseSeconds: z.optional(z.number().check(z.int(), z.gte(5), z.lte(MAX_LEASE_IN_SECONDS))),
})
export type PullRequest = z.infer<typeof pullRequestSchema>

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
}
export interface PullResponse {
  leases: LeaseGrant[]
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
    /** Give the lease back untouched (agent shutting down): no attempt is counted. */
    lease: z.string().check(z.minLength(1)),
    outcome: z.literal('release'),
  }),
])
export const ackRequestSchema = z.object({
  acks: z.array(ackItemSchema).check(z.minLength(1), z.maxLength(100)),
})
export type AckItem = z.infer<typeof ackItemSchema>
export type AckRequest = z.infer<typeof ackRequestSchema>

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
})
export type HeartbeatRequest = z.infer<typeof heartbeatRequestSchema>
export interface HeartbeatResponse {
  agentId: string
  serverTime: string
}

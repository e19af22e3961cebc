/**
 * The Sink interface: where the agent delivers records on-prem. Sinks are batch-first: the
 * real-time path groups deliveries that are ready at the same moment (see group-commit.ts) and a
 * scheduled sync run hands over whole chunks, both through `deliverBatch`. New kinds implement it
 * and register in sinks/index.ts; the poll loop never changes.
 */
import { isAgentError, retryableError, type AgentError } from '../errors.ts'

/** One record change to apply at the destination. */
export interface Delivery {
  op: 'upsert' | 'delete'
  source: string
  recordId: string
  recordType?: string
  event?: string
  requestId: string
  /** The record's version (from `fetch.version`, or a sync list's cursor), when known: newer wins at the sink. */
  version?: string
  /** Same for every redelivery of one change: destinations use it to drop duplicates. */
  idempotencyKey: string
  /** The (transformed) record; absent for deletes. */
  record?: unknown
  /** Set when the delivery comes from a scheduled sync run: its id (full refreshes stamp rows with it). */
  runId?: string
}

/** The destination's answer, for write-back templating and the reply of sync (request/reply) sources. */
export interface SinkResponse {
  status: number
  headers: Record<string, string>
  /** Parsed JSON when the answer was JSON, else the text. */
  body: unknown
}

export interface SinkResult {
  response?: SinkResponse
  /** The destination's own primary key of the row (database sinks' `localKey`), for write-back. */
  localKey?: unknown
  /** The destination already held an equal or newer version: nothing was written (not an error). */
  stale?: boolean
}

/** The outcome of one delivery of a batch. */
export type DeliveryOutcome = ({ ok: true } & SinkResult) | { ok: false; error: AgentError }

export interface Sink {
  /**
   * Applies every delivery durably before resolving, and answers one outcome per delivery, in
   * order. A delivery the destination refuses for its own reasons (a bad value, a constraint) is
   * `{ok: false}` and does not fail the others. A thrown AgentError fails the whole batch
   * (retryable for transient trouble, with retryAfterSeconds when known).
   */
  deliverBatch(deliveries: readonly Delivery[], signal?: AbortSignal): Promise<DeliveryOutcome[]>
  /** Finishes pending writes and releases resources. */
  close(): Promise<void>
  /**
   * Batches it can write at the same time (default 1): the real-time path groups deliveries only
   * while that many are being written (see group-commit.ts). Infinity: it never needs grouping.
   */
  concurrentBatches?: number
  /** Full refresh (database sinks): deletes or soft-deletes what no delivery of run `runId` touched; returns how many. Called only after a complete, error-free full run. */
  deleteNotSeenInRun?(runId: string, signal?: AbortSignal): Promise<number>
  /** Runs a statement in the sink's database (a sync job's `afterRun`), `params` bound in order. */
  execute?(statement: string, params: readonly unknown[], signal?: AbortSignal): Promise<void>
  /** The sink's reject table (database sinks): records a sync run gave up on. */
  rejects?: { record(rejects: readonly SinkReject[], signal?: AbortSignal): Promise<void> }
}

/** A record a sync run gave up on, for a reject table. */
export interface SinkReject {
  delivery: Delivery
  error: { code: string; message: string }
  /** ISO time. */
  at: string
}

/** The optional capabilities of `sink`, bound to it, for wrappers (group commit) to pass on. */
export function optionalCapabilities(sink: Sink): Pick<Sink, 'deleteNotSeenInRun' | 'execute' | 'rejects'> {
  return {
    ...(sink.deleteNotSeenInRun ? { deleteNotSeenInRun: sink.deleteNotSeenInRun.bind(sink) } : {}),
    ...(sink.execute ? { execute: sink.execute.bind(sink) } : {}),
    ...(sink.rejects ? { rejects: sink.rejects } : {}),
  }
}

/** A sink built from a one-at-a-time function: a batch is delivered concurrently, each delivery on its own. */
export function perDeliverySink(deliver: (delivery: Delivery, signal?: AbortSignal) => Promise<SinkResult>, close: () => Promise<void> = async () => {}): Sink {
  return {
    // Each delivery is its own call: grouping them would only make one wait for another.
    concurrentBatches: Number.POSITIVE_INFINITY,
    async deliverBatch(deliveries, signal) {
      return Promise.all(
        deliveries.map((delivery) =>
          deliver(delivery, signal).then(
            (result): DeliveryOutcome => ({ ok: true, ...result }),
            (error: unknown): DeliveryOutcome => {
              if (signal?.aborted) throw error
              const failure = isAgentError(error) ? error : retryableError('agent.deliver_failed', `deliver ${delivery.source} ${delivery.recordId}: ${(error as Error)?.message ?? String(error)}`, { cause: error })
              return { ok: false, error: failure }
            },
          ),
        ),
      )
    },
    close,
  }
}

/**
 * The Sink interface: where the agent delivers records on-prem. New kinds (databases, queues)
 * implement it and register in sinks/index.ts; the poll loop never changes.
 */

/** One record change to apply at the destination. */
export interface Delivery {
  op: 'upsert' | 'delete'
  source: string
  recordId: string
  recordType?: string
  event?: string
  requestId: string
  /** The record's version (from `fetch.version`), when configured. */
  version?: string
  /** Same for every redelivery of one change: destinations use it to drop duplicates. */
  idempotencyKey: string
  /** The (transformed) record; absent for deletes. */
  record?: unknown
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
}

export interface Sink {
  /**
   * Applies the delivery durably before resolving. Throws an AgentError: retryable for transient
   * trouble (with retryAfterSeconds when known), permanent for what retrying cannot fix.
   */
  deliver(delivery: Delivery, signal?: AbortSignal): Promise<SinkResult>
  /** Finishes pending writes and releases resources. */
  close(): Promise<void>
}

/**
 * The work queue port: SQS semantics (standard queue, at-least-once, visibility timeout).
 * Adapters: lib/ports/aws/sqs-queue.ts (SQS) and lib/ports/local/sqlite-queue.ts (node:sqlite).
 * Both pass the same contract suite (test/contract/queue.contract.test.ts).
 */
export interface QueueMessage {
  /** Opaque handle for delete/changeVisibility; valid only for this receive. */
  receipt: string
  body: string
  /** How many times this message has been received, this receive included (SQS ApproximateReceiveCount). */
  receiveCount: number
  /** Adapter's message id. */
  messageId: string
}

export interface SendEntry {
  body: string
  /** Hidden for this long before it can be received (SQS DelaySeconds, 0..900). */
  delaySeconds?: number
}

/** The most messages one receive returns (SQS ReceiveMessage's limit, which every adapter keeps). */
export const MAX_RECEIVE_MESSAGES = 10

export interface ReceiveOptions {
  /** 1..MAX_RECEIVE_MESSAGES */
  maxMessages: number
  /** Long poll: wait up to this long (0..20 s) for a first message; returns as soon as one is there. */
  waitSeconds: number
  /** Received messages stay hidden this long (the lease) unless deleted or changed. */
  visibilitySeconds: number
  /** Aborting ends a long poll early with whatever was received (possibly nothing). */
  signal?: AbortSignal
}

export interface WorkQueue {
  /** Durably enqueues all entries or throws StorageUnavailableError (no partial success is reported as success). */
  send(entries: SendEntry[]): Promise<void>
  receive(options: ReceiveOptions): Promise<QueueMessage[]>
  /** Removes a received message. Deleting with a stale receipt is not an error. */
  delete(receipt: string): Promise<void>
  /** Hides a received message for `visibilitySeconds` from now (0 makes it visible at once; max 43200). */
  changeVisibility(receipt: string, visibilitySeconds: number): Promise<void>
}

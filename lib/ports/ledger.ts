import type { AgentStatus, RecordState, RelayRequest, RequestState } from '../relay/types.ts'

/**
 * The ledger port: per-record state, requests, dedupe marks and agent heartbeats.
 * Adapters: lib/ports/aws/dynamo-ledger.ts (DynamoDB single table) and
 * lib/ports/local/sqlite-ledger.ts (node:sqlite). Both pass test/contract/ledger.contract.test.ts.
 *
 * All relay logic lives in lib/relay and is expressed as `decide` functions; adapters only make
 * `mutateRecord` atomic, so the state machine exists once.
 */
export interface RecordSnapshot {
  /** undefined when the record has never been seen (or its idle state expired). */
  record: RecordState | undefined
  /** The record's current request (record.requestId) and every id asked for, when they exist. */
  requests: ReadonlyMap<string, RelayRequest>
}

export interface RecordMutation<T> {
  /** The record's new state; omit to leave it unchanged. */
  record?: RecordState
  /** Requests to create or replace. */
  requests?: RelayRequest[]
  result: T
}

export interface RequestQuery {
  state?: RequestState
  source?: string
  recordId?: string
  /** ISO time, inclusive, on updatedAt. */
  since?: string
  /** ISO time, exclusive, on updatedAt. */
  until?: string
  /** 1..1000, default 100. Newest first. */
  limit?: number
  /** From the previous page. */
  cursor?: string
}

export interface RequestPage {
  items: RelayRequest[]
  cursor?: string
}

export interface Ledger {
  /**
   * Atomically reads the record (and its requests), calls `decide`, and writes what it returns.
   * When another writer changed any of them in between, it reads again and calls `decide` again
   * (so `decide` must be pure), giving up with ConflictError after a bounded number of tries.
   * `rev` fields are the adapter's: it sets `rev` on what it writes; `decide` copies them through.
   * Throws StorageUnavailableError when the store cannot be reached.
   */
  mutateRecord<T>(
    recordKey: string,
    requestIds: readonly string[],
    decide: (snapshot: RecordSnapshot) => RecordMutation<T>,
  ): Promise<T>
  /**
   * Records that the queue confirmed the request's message: sets `sentAt` only if the request is
   * still queued and not yet marked (one conditional write, not a transaction: it touches nothing
   * else and decides nothing). Returns whether it was set.
   */
  markSent(requestId: string, sentAt: string): Promise<boolean>
  getRequest(id: string): Promise<RelayRequest | undefined>
  getRecord(recordKey: string): Promise<RecordState | undefined>
  listRequests(query: RequestQuery): Promise<RequestPage>
  /** True when `deliveryId` of `source` was remembered and has not expired. */
  hasDelivery(source: string, deliveryId: string): Promise<boolean>
  /** Remembers a delivery id for `ttlSeconds`. */
  rememberDelivery(source: string, deliveryId: string, ttlSeconds: number): Promise<void>
  recordHeartbeat(status: AgentStatus): Promise<void>
  listAgents(): Promise<AgentStatus[]>
}

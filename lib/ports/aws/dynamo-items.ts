import type { AgentStatus, RecordState, RelayRequest } from '../../relay/types.ts'

/**
 * The ledger's single-table item layout (v2: one item per record). A record's state and its
 * current request share ONE item, so the hot path (a webhook, its claim, its ack) is one
 * conditional write each, not a transaction over two items:
 *   record   pk REC#<recordKey>    sk REC   rev, record, request?   gsi1pk STATE#<request.state>  gsi1sk <request.updatedAt>#<id>
 *   request  pk REQ#<id>           sk REQ   either a pointer `home` (the recordKey whose item holds it: the record's
 *                                           current request), or rev, request (any other request: a deferred follow-up,
 *                                           a finished one its record moved on from), with the same gsi1 keys
 *   dedupe   pk DLV#<source>#<deliveryId>   sk DLV
 *   agent    pk AGENTS             sk AGENT#<agentId>   (one small partition: listAgents is a Query)
 * Domain objects are native maps (`record`, `request`), so the console and filters see their fields.
 * `rev` is the item's version for conditional writes; the objects keep their own `rev` inside.
 * `expiresAt` (the TTL attribute) is set only when everything in the item may expire, at the latest of them.
 */
export interface ItemKey {
  pk: string
  sk: string
}
export type Item = Record<string, unknown>

export const AGENTS_PARTITION = 'AGENTS'
const INDEX_POSITION_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk'] as const

export const recordItemKey = (recordKey: string): ItemKey => ({ pk: `REC#${recordKey}`, sk: 'REC' })
export const requestItemKey = (id: string): ItemKey => ({ pk: `REQ#${id}`, sk: 'REQ' })
export const deliveryItemKey = (source: string, deliveryId: string): ItemKey => ({ pk: `DLV#${source}#${deliveryId}`, sk: 'DLV' })
export const agentItemKey = (agentId: string): ItemKey => ({ pk: AGENTS_PARTITION, sk: `AGENT#${agentId}` })

export const stateIndexKey = (state: string): string => `STATE#${state}`
export const stateIndexSortKey = (request: Pick<RelayRequest, 'updatedAt' | 'id'>): string => `${request.updatedAt}#${request.id}`

/** Drops undefined fields (the DocumentClient rejects them unless configured to remove them). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

const indexKeys = (request: RelayRequest): Item => ({ gsi1pk: stateIndexKey(request.state), gsi1sk: stateIndexSortKey(request) })

/** The item's TTL: only when every object in it expires, at the latest of them (a dead letter or a sync job's record never does). */
function ttlOf(...expiries: (number | undefined)[]): Item {
  if (expiries.length === 0 || expiries.some((expiresAt) => expiresAt === undefined)) return {}
  return { expiresAt: Math.max(...(expiries as number[])) }
}

/** A record's item: its state and, when it has one, its current request (record.requestId). */
export function recordItem(recordKey: string, record: RecordState, request: RelayRequest | undefined, rev: number): Item {
  if (request !== undefined && request.id !== record.requestId) throw new Error(`request ${request.id} is not the current request of record ${recordKey}`)
  return {
    ...recordItemKey(recordKey),
    rev,
    record: plain(record),
    ...(request ? { request: plain(request), ...indexKeys(request) } : {}),
    ...ttlOf(record.expiresAt, ...(request ? [request.expiresAt] : [])),
  }
}

/** A request that is not its record's current one, in an item of its own. */
export function requestItem(request: RelayRequest): Item {
  return { ...requestItemKey(request.id), rev: request.rev, request: plain(request), ...indexKeys(request), ...ttlOf(request.expiresAt) }
}

/** Where a record's current request lives: the item of record `recordKey`. */
export function pointerItem(requestId: string, recordKey: string): Item {
  return { ...requestItemKey(requestId), home: recordKey }
}

export function agentItem(status: AgentStatus): Item {
  return { ...plain(status), ...agentItemKey(status.agentId) }
}

export const recordOf = (item: Item | undefined): RecordState | undefined => item?.record as RecordState | undefined
export const requestOf = (item: Item | undefined): RelayRequest | undefined => item?.request as RelayRequest | undefined
/** A request item that only says which record item holds the request. */
export const homeOf = (item: Item | undefined): string | undefined => (typeof item?.home === 'string' ? item.home : undefined)

/** An agent's status from its item: everything but the key attributes. */
export function agentOf(item: Item): AgentStatus {
  const status: Item = { ...item }
  delete status.pk
  delete status.sk
  return status as unknown as AgentStatus
}

/** The key of an item in the state index, as ExclusiveStartKey (table keys + index keys). */
export function stateIndexPosition(item: Item): Item {
  return Object.fromEntries(INDEX_POSITION_ATTRIBUTES.map((attribute) => [attribute, item[attribute]]))
}

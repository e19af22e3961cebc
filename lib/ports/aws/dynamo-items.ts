import type { AgentStatus, RecordState, RelayRequest } from '../../relay/types.ts'

/**
 * The ledger's single-table item layout. Domain objects are stored as native attributes next to
 * their keys, so the console and filters see `source`, `recordId`, `state` directly.
 *   record   pk REC#<recordKey>               sk REC
 *   request  pk REQ#<id>                      sk REQ    gsi1pk STATE#<state>  gsi1sk <updatedAt>#<id>
 *   dedupe   pk DLV#<source>#<deliveryId>     sk DLV
 *   agent    pk AGENTS                        sk AGENT#<agentId>   (one small partition: listAgents is a Query)
 */
export interface ItemKey {
  pk: string
  sk: string
}
export type Item = Record<string, unknown>

export const AGENTS_PARTITION = 'AGENTS'
const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk'] as const

export const recordItemKey = (recordKey: string): ItemKey => ({ pk: `REC#${recordKey}`, sk: 'REC' })
export const requestItemKey = (id: string): ItemKey => ({ pk: `REQ#${id}`, sk: 'REQ' })
export const deliveryItemKey = (source: string, deliveryId: string): ItemKey => ({ pk: `DLV#${source}#${deliveryId}`, sk: 'DLV' })
export const agentItemKey = (agentId: string): ItemKey => ({ pk: AGENTS_PARTITION, sk: `AGENT#${agentId}` })

export const stateIndexKey = (state: string): string => `STATE#${state}`
export const stateIndexSortKey = (request: Pick<RelayRequest, 'updatedAt' | 'id'>): string => `${request.updatedAt}#${request.id}`

/** Drops undefined fields (the DocumentClient rejects them unless configured to remove them). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

export function recordItem(recordKey: string, record: RecordState, rev: number): Item {
  return { ...plain(record), rev, ...recordItemKey(recordKey) }
}

export function requestItem(request: RelayRequest, rev: number): Item {
  return {
    ...plain(request),
    rev,
    ...requestItemKey(request.id),
    gsi1pk: stateIndexKey(request.state),
    gsi1sk: stateIndexSortKey(request),
  }
}

export function agentItem(status: AgentStatus): Item {
  return { ...plain(status), ...agentItemKey(status.agentId) }
}

/** The domain object inside an item: everything but the table's key attributes. */
export function fromItem<T>(item: Item): T {
  const domain: Item = { ...item }
  for (const attribute of KEY_ATTRIBUTES) delete domain[attribute]
  return domain as T
}

/** The key of an item in the state index, as ExclusiveStartKey (table keys + index keys). */
export function stateIndexPosition(item: Item): Item {
  return Object.fromEntries(KEY_ATTRIBUTES.map((attribute) => [attribute, item[attribute]]))
}

import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import { StorageUnavailableError } from '../../errors.ts'
import type { RelayRequest } from '../../relay/types.ts'
import type { RecordMutation } from '../ledger.ts'
import { awsErrorName, translateAwsError } from './aws-errors.ts'
import { homeOf, type Item, type ItemKey, pointerItem, recordItem, recordItemKey, recordOf, requestItem, requestItemKey, requestOf } from './dynamo-items.ts'

/** What mutateRecord read: every item it looked at, by pk, as stored (item undefined: it did not exist). */
export type ReadItems = Map<string, { key: ItemKey; item: Item | undefined }>
/** Where each request it found lives (the pk of the item holding it), as stored: expired ones too. */
export type Homes = Map<string, { pk: string; request: RelayRequest }>

export interface ReadState {
  recordKey: string
  items: ReadItems
  homes: Homes
  isLive: (request: RelayRequest) => boolean
}

/** What a conditional write or check requires of the stored item. */
type Condition =
  | { kind: 'absent' }
  | { kind: 'rev'; rev: number }
  | { kind: 'pointer'; home: string }
  | { kind: 'absent_or_pointer'; home: string }
  /** The own item of the record's current request, which moves into it: a pointer (or a copy of that very revision, left by an earlier try). */
  | { kind: 'moving_out'; home: string; rev: number }

/**
 * `before`: a write that is safe to land on its own ahead of the one that decides (a new request's
 * pointer, a finished request's unchanged copy): if the deciding write then loses its race, what it
 * left behind changes nothing a reader sees.
 */
export interface PlannedWrite {
  item: Item
  condition: Condition
  before?: boolean
}
export interface PlannedCheck {
  key: ItemKey
  condition: Condition
}
export interface Plan {
  writes: PlannedWrite[]
  checks: PlannedCheck[]
  /** The request ids written, and the key of the item that now holds each. */
  homes: Map<string, ItemKey>
}

/** TransactWriteItems takes at most 100 items: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html */
const MAX_TRANSACTION_ITEMS = 100
/** States no decision changes: an unchanged copy of such a request can be written ahead. */
const FINAL_STATES = new Set<RelayRequest['state']>(['done', 'discarded'])

/** The condition that the item stays as it was read. */
function unchanged(stored: Item | undefined): Condition {
  if (stored === undefined) return { kind: 'absent' }
  const home = homeOf(stored)
  return home === undefined ? { kind: 'rev', rev: stored.rev as number } : { kind: 'pointer', home }
}

/**
 * Turns a decision into conditional writes (item layout: dynamo-items.ts). The record's item holds
 * its state and its current request, so the usual decision (a webhook, a claim, an ack) is ONE
 * conditional write on the item's `rev`. A request that stops being current moves to an item of
 * its own; one that becomes current leaves a pointer in its own. Every written item is conditioned
 * on what was read (or on not existing), and every item read but not written gets a condition
 * check, except pointers to the record's own item (they only change with it); more than one
 * deciding write makes it a transaction. An empty plan means: write nothing.
 */
export function planMutation(read: ReadState, mutation: RecordMutation<unknown>): Plan {
  const { recordKey, items, homes } = read
  const recordPk = recordItemKey(recordKey).pk
  const storedItem = items.get(recordPk)?.item
  const storedRecord = recordOf(storedItem)
  const storedCurrent = requestOf(storedItem)
  const written = new Map((mutation.requests ?? []).map((request) => [request.id, request]))
  const plan: Plan = { writes: [], checks: [], homes: new Map() }
  if (mutation.record === undefined && written.size === 0) return plan

  const record = mutation.record ? { ...mutation.record, rev: (storedRecord?.rev ?? 0) + 1 } : storedRecord
  const currentId = record?.requestId
  const withRev = (request: RelayRequest): RelayRequest => ({ ...request, rev: (homes.get(request.id)?.request.rev ?? 0) + 1 })
  const storedOf = (pk: string): Item | undefined => items.get(pk)?.item
  const writes = new Map<string, PlannedWrite>()

  let current = storedCurrent !== undefined && storedCurrent.id === currentId ? storedCurrent : undefined
  let recordChanged = mutation.record !== undefined
  for (const request of written.values()) {
    const home = homes.get(request.id)?.pk
    if (home !== undefined && home !== recordPk && home.startsWith('REC#')) {
      throw new Error(`request ${request.id} is the current request of another record; change it through that record (${home.slice(4)})`)
    }
    if (record !== undefined && request.id === currentId) {
      current = withRev(request)
      recordChanged = true
      continue
    }
    const key = requestItemKey(request.id)
    // Unread: a new request (its id must be free), or the current one moving out (its item is a pointer here).
    const condition: Condition = items.has(key.pk)
      ? unchanged(storedOf(key.pk))
      : home === recordPk
        ? { kind: 'moving_out', home: recordKey, rev: homes.get(request.id)!.request.rev }
        : { kind: 'absent' }
    writes.set(key.pk, { item: requestItem(withRev(request)), condition })
    plan.homes.set(request.id, key)
  }

  // The record now points at a request it did not hold: take it in (from its own item).
  if (record !== undefined && currentId !== undefined && current === undefined && !written.has(currentId)) {
    const found = homes.get(currentId)
    if (found !== undefined && found.pk !== recordPk && !found.pk.startsWith('REC#')) current = found.request
  }
  // The request the record held is no longer its current one: it moves to its own item as it is.
  if (storedCurrent !== undefined && storedCurrent.id !== current?.id) {
    recordChanged = true
    if (!written.has(storedCurrent.id) && read.isLive(storedCurrent)) {
      const key = requestItemKey(storedCurrent.id)
      const condition: Condition = items.has(key.pk) ? unchanged(storedOf(key.pk)) : { kind: 'moving_out', home: recordKey, rev: storedCurrent.rev }
      writes.set(key.pk, { item: requestItem(storedCurrent), condition, before: FINAL_STATES.has(storedCurrent.state) })
      plan.homes.set(storedCurrent.id, key)
    }
  }
  // A request that becomes current leaves a pointer in its own item (getRequest and markSent find it by id).
  if (current !== undefined && current.id !== storedCurrent?.id) {
    const key = requestItemKey(current.id)
    const stored = storedOf(key.pk)
    if (stored === undefined) writes.set(key.pk, { item: pointerItem(current.id, recordKey), condition: { kind: 'absent_or_pointer', home: recordKey }, before: true })
    else if (homeOf(stored) !== recordKey) writes.set(key.pk, { item: pointerItem(current.id, recordKey), condition: unchanged(stored) })
  }
  if (recordChanged && record !== undefined) {
    const stored = storedOf(recordPk)
    writes.set(recordPk, { item: recordItem(recordKey, record, current, ((stored?.rev as number | undefined) ?? 0) + 1), condition: unchanged(stored) })
  }
  if (current !== undefined && writes.has(recordPk)) plan.homes.set(current.id, recordItemKey(recordKey))
  if (writes.size === 0) return plan

  plan.writes = [...writes.values()]
  const deciding = plan.writes.filter((write) => !write.before)
  const recordWritten = deciding.some((write) => write.item.pk === recordPk)
  for (const [pk, { key, item }] of items) {
    if (writes.has(pk)) continue
    // A pointer to this record's item changes only together with that item, which is conditioned.
    if (recordWritten && homeOf(item) === recordKey) continue
    plan.checks.push({ key, condition: unchanged(item) })
  }
  if (plan.writes.length + plan.checks.length > MAX_TRANSACTION_ITEMS) throw new RangeError(`a record mutation may touch at most ${MAX_TRANSACTION_ITEMS} items`)
  return plan
}

function conditionExpression(condition: Condition): {
  ConditionExpression: string
  ExpressionAttributeNames?: Record<string, string>
  ExpressionAttributeValues?: Record<string, unknown>
} {
  switch (condition.kind) {
    case 'absent':
      return { ConditionExpression: 'attribute_not_exists(pk)' }
    case 'rev':
      return { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'rev' }, ExpressionAttributeValues: { ':rev': condition.rev } }
    case 'pointer':
      return { ConditionExpression: '#home = :home', ExpressionAttributeNames: { '#home': 'home' }, ExpressionAttributeValues: { ':home': condition.home } }
    case 'absent_or_pointer':
      return { ConditionExpression: 'attribute_not_exists(pk) OR #home = :home', ExpressionAttributeNames: { '#home': 'home' }, ExpressionAttributeValues: { ':home': condition.home } }
    case 'moving_out':
      return {
        ConditionExpression: 'attribute_not_exists(pk) OR #home = :home OR #rev = :rev',
        ExpressionAttributeNames: { '#home': 'home', '#rev': 'rev' },
        ExpressionAttributeValues: { ':home': condition.home, ':rev': condition.rev },
      }
  }
}

/**
 * Writes a plan: one deciding write is a conditional PutItem (after the writes that may go
 * ahead of it), anything more one transaction. 'conflict' when another writer got there first
 * (read and decide again).
 */
export async function commitPlan(client: DynamoDBDocumentClient, tableName: string, plan: Plan): Promise<'committed' | 'conflict'> {
  const deciding = plan.writes.filter((write) => !write.before)
  const [only] = deciding
  try {
    if (deciding.length === 1 && only !== undefined && plan.checks.length === 0) {
      const ahead = plan.writes.filter((write) => write.before)
      const outcomes = await Promise.all(ahead.map((write) => put(client, tableName, write)))
      if (outcomes.includes('conflict')) return 'conflict'
      return await put(client, tableName, only)
    }
    const items = [
      ...plan.writes.map((write) => ({ Put: { TableName: tableName, Item: write.item, ...conditionExpression(write.condition) } })),
      ...plan.checks.map((check) => ({ ConditionCheck: { TableName: tableName, Key: check.key, ...conditionExpression(check.condition) } })),
    ]
    await client.send(new TransactWriteCommand({ TransactItems: items }))
    return 'committed'
  } catch (error) {
    return conflictOrThrow(error)
  }
}

async function put(client: DynamoDBDocumentClient, tableName: string, write: PlannedWrite): Promise<'committed' | 'conflict'> {
  try {
    await client.send(new PutCommand({ TableName: tableName, Item: write.item, ...conditionExpression(write.condition) }))
    return 'committed'
  } catch (error) {
    return conflictOrThrow(error)
  }
}

function conflictOrThrow(error: unknown): 'conflict' {
  const name = awsErrorName(error)
  // TransactionConflict: another transaction held one of the items at that moment.
  if (name === 'ConditionalCheckFailedException' || name === 'TransactionConflictException') return 'conflict'
  if (name === 'TransactionCanceledException') {
    const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []
    const codes = new Set(reasons.map((reason) => reason.Code))
    if (codes.has('ConditionalCheckFailed') || codes.has('TransactionConflict')) return 'conflict'
    if (codes.has('ThrottlingError') || codes.has('ProvisionedThroughputExceeded') || codes.has('RequestLimitExceeded')) {
      throw new StorageUnavailableError('ledger write failed: the table is throttling', { cause: error })
    }
  }
  throw translateAwsError(error, 'ledger write')
}

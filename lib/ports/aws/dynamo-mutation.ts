import { type DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import { StorageUnavailableError } from '../../errors.ts'
import type { RecordMutation } from '../ledger.ts'
import { awsErrorName, translateAwsError } from './aws-errors.ts'
import { type Item, type ItemKey, recordItem, recordItemKey, requestItem, requestItemKey } from './dynamo-items.ts'

/** What mutateRecord read, by pk: each item's key and stored `rev` (undefined: it did not exist). */
export type ReadRevisions = Map<string, { key: ItemKey; rev: number | undefined }>

/** One conditional operation: write an item, or only check that a read item is unchanged. */
export type PlannedWrite = { put: Item; expectedRev: number | undefined } | { check: ItemKey; expectedRev: number | undefined }

/** TransactWriteItems takes at most 100 items: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html */
const MAX_TRANSACTION_ITEMS = 100

/**
 * Turns a decision into conditional writes: every written item is conditioned on the `rev` that was
 * read (or on not existing), and every item read but not written gets a condition check, so the
 * decision commits only if nothing it was based on changed. An empty plan means: write nothing.
 */
export function planMutation(recordKey: string, read: ReadRevisions, mutation: RecordMutation<unknown>): PlannedWrite[] {
  const expectedRev = (key: ItemKey): number | undefined => read.get(key.pk)?.rev
  const puts: PlannedWrite[] = []
  if (mutation.record !== undefined) {
    const rev = expectedRev(recordItemKey(recordKey))
    puts.push({ put: recordItem(recordKey, mutation.record, (rev ?? 0) + 1), expectedRev: rev })
  }
  const requests = new Map((mutation.requests ?? []).map((request) => [request.id, request]))
  for (const request of requests.values()) {
    // A request that was not read is new: it must not exist yet.
    const rev = expectedRev(requestItemKey(request.id))
    puts.push({ put: requestItem(request, (rev ?? 0) + 1), expectedRev: rev })
  }
  if (puts.length === 0) return []
  const written = new Set(puts.map((write) => ('put' in write ? write.put.pk : undefined)))
  const checks = [...read.values()]
    .filter(({ key }) => !written.has(key.pk))
    .map(({ key, rev }): PlannedWrite => ({ check: key, expectedRev: rev }))
  const plan = [...puts, ...checks]
  if (plan.length > MAX_TRANSACTION_ITEMS) throw new RangeError(`a record mutation may touch at most ${MAX_TRANSACTION_ITEMS} items`)
  return plan
}

function revCondition(expectedRev: number | undefined): {
  ConditionExpression: string
  ExpressionAttributeNames?: Record<string, string>
  ExpressionAttributeValues?: Record<string, unknown>
} {
  return expectedRev === undefined
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'rev' }, ExpressionAttributeValues: { ':rev': expectedRev } }
}

/** Writes a plan atomically; 'conflict' when another writer got there first (read and decide again). */
export async function commitMutation(client: DynamoDBDocumentClient, tableName: string, plan: PlannedWrite[]): Promise<'committed' | 'conflict'> {
  try {
    const [only] = plan
    if (plan.length === 1 && only !== undefined && 'put' in only) {
      // One item needs no transaction (half the cost): a conditional PutItem is atomic on its own.
      await client.send(new PutCommand({ TableName: tableName, Item: only.put, ...revCondition(only.expectedRev) }))
    } else {
      const items = plan.map((write) =>
        'put' in write
          ? { Put: { TableName: tableName, Item: write.put, ...revCondition(write.expectedRev) } }
          : { ConditionCheck: { TableName: tableName, Key: write.check, ...revCondition(write.expectedRev) } },
      )
      await client.send(new TransactWriteCommand({ TransactItems: items }))
    }
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

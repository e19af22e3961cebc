import { BatchGetCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { StorageUnavailableError } from '../../errors.ts'
import { REQUEST_STATES, type RelayRequest, type RequestState } from '../../relay/types.ts'
import type { RequestPage } from '../ledger.ts'
import { decodeCursor, encodeCursor, epochSeconds, type NormalizedRequestQuery } from '../ledger-query.ts'
import { translateAwsError } from './aws-errors.ts'
import { type Item, type ItemKey, requestOf, stateIndexKey, stateIndexPosition } from './dynamo-items.ts'
import { LEDGER_STATE_INDEX } from './dynamo-table.ts'

/** Where each state's partition of the index was left: its last returned item's key, or 'end'. */
type Positions = Partial<Record<RequestState, Item | 'end'>>

interface StatePage {
  state: RequestState
  items: Item[]
  exhausted: boolean
}

/**
 * Lists requests from the state index, newest first. Without a state it reads every state's
 * partition and merges them; the cursor remembers a position per state. The index projects keys
 * only: each page of entries is followed by one BatchGetItem of their items.
 */
export async function listRequestsByState(
  client: DynamoDBDocumentClient,
  tableName: string,
  query: NormalizedRequestQuery,
  now: Date,
): Promise<RequestPage> {
  const states = query.state === undefined ? REQUEST_STATES : [query.state]
  const positions = query.cursor === undefined ? {} : decodeCursor(query.cursor, isPositions)
  const pages = await Promise.all(
    states
      .filter((state) => positions[state] !== 'end')
      .map((state) => readState(client, tableName, query, state, positions[state] as Item | undefined, now)),
  )
  // Each state page holds `limit` matches (or all there are), so the newest `limit` of their union are right.
  const taken = pages
    .flatMap((page) => page.items.map((item) => ({ state: page.state, item })))
    .sort((a, b) => compareNewestFirst(a.item, b.item))
    .slice(0, query.limit)

  const next: Positions = { ...positions }
  for (const page of pages) {
    const mine = taken.filter((entry) => entry.state === page.state)
    const last = mine.at(-1)
    if (mine.length === page.items.length && page.exhausted) next[page.state] = 'end'
    else if (last !== undefined) next[page.state] = stateIndexPosition(last.item)
  }
  const items = taken.map((entry) => requestOf(entry.item) as RelayRequest)
  return states.every((state) => next[state] === 'end') ? { items } : { items, cursor: encodeCursor(next) }
}

async function readState(
  client: DynamoDBDocumentClient,
  tableName: string,
  { source, recordId, since, until, limit }: NormalizedRequestQuery,
  state: RequestState,
  position: Item | undefined,
  now: Date,
): Promise<StatePage> {
  // One sort-key condition only: since/until become BETWEEN (inclusive), and until's exclusivity
  // is checked on the request. `<updatedAt>#<id>` sorts after `<updatedAt>`, so >= since keeps equal times.
  const names: Record<string, string> = { '#pk': 'gsi1pk' }
  const values: Record<string, unknown> = { ':pk': stateIndexKey(state) }
  let keyCondition = '#pk = :pk'
  if (since !== undefined || until !== undefined) names['#sk'] = 'gsi1sk'
  if (since !== undefined) values[':since'] = since
  if (until !== undefined) values[':until'] = until
  if (since !== undefined && until !== undefined) keyCondition += ' AND #sk BETWEEN :since AND :until'
  else if (since !== undefined) keyCondition += ' AND #sk >= :since'
  else if (until !== undefined) keyCondition += ' AND #sk < :until'
  const nowSeconds = epochSeconds(now)
  const matches = (request: RelayRequest): boolean =>
    (request.expiresAt === undefined || request.expiresAt > nowSeconds) &&
    (until === undefined || request.updatedAt < until) &&
    (source === undefined || request.source === source) &&
    (recordId === undefined || request.recordId === recordId)

  const items: Item[] = []
  let startKey = position
  do {
    const output = await client
      .send(
        new QueryCommand({
          TableName: tableName,
          IndexName: LEDGER_STATE_INDEX,
          KeyConditionExpression: keyCondition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: startKey,
        }),
      )
      .catch((error: unknown) => {
        throw translateAwsError(error, 'ledger list')
      })
    const entries = output.Items ?? []
    const stored = await getItems(client, tableName, entries.map((entry) => ({ pk: entry.pk as string, sk: entry.sk as string })))
    for (const entry of entries) {
      const item = stored.get(entry.pk as string)
      // The index lags the table: an entry whose item has moved on (another state or time) is listed there.
      if (item === undefined || item.gsi1pk !== entry.gsi1pk || item.gsi1sk !== entry.gsi1sk) continue
      const request = requestOf(item)
      if (request !== undefined && matches(request)) items.push({ ...stateIndexPosition(entry), request })
    }
    startKey = output.LastEvaluatedKey
  } while (items.length < limit && startKey !== undefined)
  return { state, items, exhausted: startKey === undefined }
}

/** BatchGetItem takes at most 100 keys: https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html */
const MAX_BATCH_GET_KEYS = 100
const UNPROCESSED_BACKOFF_IN_MS = 20
const MAX_UNPROCESSED_ROUNDS = 10

/**
 * The indexed items themselves, by pk (the index holds only keys: an item's update that keeps its
 * index keys then costs no index write). Consistent, so what is listed is what is stored now.
 */
async function getItems(client: DynamoDBDocumentClient, tableName: string, keys: ItemKey[]): Promise<Map<string, Item>> {
  const found = new Map<string, Item>()
  const chunks: ItemKey[][] = []
  for (let start = 0; start < keys.length; start += MAX_BATCH_GET_KEYS) chunks.push(keys.slice(start, start + MAX_BATCH_GET_KEYS))
  await Promise.all(
    chunks.map(async (chunk) => {
      let pending: ItemKey[] = chunk
      for (let round = 0; pending.length > 0; round += 1) {
        if (round >= MAX_UNPROCESSED_ROUNDS) throw new StorageUnavailableError('ledger list failed: the table kept leaving reads unprocessed')
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, UNPROCESSED_BACKOFF_IN_MS * 2 ** round))
        const output = await client
          .send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }))
          .catch((error: unknown) => {
            throw translateAwsError(error, 'ledger list')
          })
        for (const item of output.Responses?.[tableName] ?? []) found.set(item.pk as string, item)
        pending = (output.UnprocessedKeys?.[tableName]?.Keys ?? []) as ItemKey[]
      }
    }),
  )
  return found
}

function compareNewestFirst(a: Item, b: Item): number {
  const [left, right] = [String(a.gsi1sk), String(b.gsi1sk)]
  return left < right ? 1 : left > right ? -1 : 0
}

function isPositions(value: unknown): value is Positions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  return Object.entries(value).every(
    ([state, position]) =>
      REQUEST_STATES.includes(state as RequestState) &&
      (position === 'end' ||
        (typeof position === 'object' &&
          position !== null &&
          (position as Item).gsi1pk === stateIndexKey(state) &&
          ['pk', 'sk', 'gsi1sk'].every((attribute) => typeof (position as Item)[attribute] === 'string'))),
  )
}

import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb'
import { REQUEST_STATES, type RelayRequest, type RequestState } from '../../relay/types.ts'
import type { RequestPage } from '../ledger.ts'
import { decodeCursor, encodeCursor, epochSeconds, type NormalizedRequestQuery } from '../ledger-query.ts'
import { translateAwsError } from './aws-errors.ts'
import { type Item, requestOf, stateIndexKey, stateIndexPosition } from './dynamo-items.ts'
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
 * partition and merges them; the cursor remembers a position per state.
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
  // Both kinds of indexed item (a record's, holding its current request, and a request's own)
  // keep the request as the map `request`: the filters look inside it.
  const names: Record<string, string> = { '#pk': 'gsi1pk', '#request': 'request', '#expiresAt': 'expiresAt' }
  const values: Record<string, unknown> = { ':pk': stateIndexKey(state), ':now': epochSeconds(now) }
  const filters = ['(attribute_not_exists(#request.#expiresAt) OR #request.#expiresAt > :now)']
  const filterOn = (attribute: string, operator: string, value: unknown): void => {
    names[`#${attribute}`] = attribute
    values[`:${attribute}`] = value
    filters.push(`#request.#${attribute} ${operator} :${attribute}`)
  }
  // One sort-key condition only: since/until become BETWEEN (inclusive), and until's exclusivity
  // a filter on updatedAt. `<updatedAt>#<id>` sorts after `<updatedAt>`, so >= since keeps equal times.
  let keyCondition = '#pk = :pk'
  if (since !== undefined || until !== undefined) names['#sk'] = 'gsi1sk'
  if (since !== undefined) values[':since'] = since
  if (until !== undefined) values[':until'] = until
  if (since !== undefined && until !== undefined) {
    keyCondition += ' AND #sk BETWEEN :since AND :until'
    names['#updatedAt'] = 'updatedAt'
    filters.push('#request.#updatedAt < :until')
  } else if (since !== undefined) keyCondition += ' AND #sk >= :since'
  else if (until !== undefined) keyCondition += ' AND #sk < :until'
  if (source !== undefined) filterOn('source', '=', source)
  if (recordId !== undefined) filterOn('recordId', '=', recordId)

  const items: Item[] = []
  let startKey = position
  do {
    const output = await client
      .send(
        new QueryCommand({
          TableName: tableName,
          IndexName: LEDGER_STATE_INDEX,
          KeyConditionExpression: keyCondition,
          FilterExpression: filters.join(' AND '),
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
    items.push(...(output.Items ?? []))
    startKey = output.LastEvaluatedKey
  } while (items.length < limit && startKey !== undefined)
  return { state, items, exhausted: startKey === undefined }
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

import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { ConflictError } from '../../errors.ts'
import type { AgentStatus, RecordState, RelayRequest } from '../../relay/types.ts'
import type { Ledger, RecordMutation, RecordSnapshot, RequestPage, RequestQuery } from '../ledger.ts'
import { expiresAtAfter, isExpired, normalizeRequestQuery } from '../ledger-query.ts'
import { awsErrorName, translateAwsError } from './aws-errors.ts'
import {
  AGENTS_PARTITION,
  agentItem,
  agentOf,
  deliveryItemKey,
  homeOf,
  type Item,
  type ItemKey,
  recordItemKey,
  recordOf,
  requestItemKey,
  requestOf,
} from './dynamo-items.ts'
import { listRequestsByState } from './dynamo-list-requests.ts'
import { commitPlan, type Homes, planMutation, type ReadItems, type ReadState } from './dynamo-mutation.ts'

/** Optimistic writes that keep losing races give up after this many tries (then ConflictError). */
const MAX_MUTATE_ATTEMPTS = 25
const CONFLICT_BACKOFF_BASE_IN_MS = 5
const CONFLICT_BACKOFF_MAX_IN_MS = 100

let defaultClient: DynamoDBDocumentClient | undefined
const moduleClient = (): DynamoDBDocumentClient => (defaultClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({})))

export interface DynamoLedgerOptions {
  tableName: string
  client?: DynamoDBDocumentClient
  now?: () => Date
}

/** How many request locations (request id → the item holding it) a ledger remembers, for markSent. */
const KNOWN_HOMES_KEPT = 10_000

/**
 * The ledger on one DynamoDB table (layout: dynamo-items.ts). mutateRecord is optimistic: consistent
 * reads, `decide`, then conditional writes on the `rev` of what was read — usually one PutItem of the
 * record's item, which holds its current request; a lost race reads and decides again.
 */
export class DynamoLedger implements Ledger {
  readonly #tableName: string
  readonly #client: DynamoDBDocumentClient
  readonly #now: () => Date
  /**
   * Where requests this ledger wrote or looked up live, newest last: markSent (right after the
   * write that created the request, on the webhook's path) then needs no read to find the item. A
   * guess gone stale costs one failed conditional write, then the read. Bounded.
   */
  readonly #knownHomes = new Map<string, ItemKey>()

  constructor({ tableName, client = moduleClient(), now = () => new Date() }: DynamoLedgerOptions) {
    this.#tableName = tableName
    this.#client = client
    this.#now = now
  }

  async mutateRecord<T>(
    recordKey: string,
    requestIds: readonly string[],
    decide: (snapshot: RecordSnapshot) => RecordMutation<T>,
  ): Promise<T> {
    // Requests a lost attempt wanted to write: read them next time, so decide sees who won.
    let alsoRead: string[] = []
    for (let attempt = 1; ; attempt += 1) {
      const { snapshot, read } = await this.#readSnapshot(recordKey, [...requestIds, ...alsoRead])
      const mutation = decide(snapshot)
      const plan = planMutation(read, mutation)
      if (plan.writes.length === 0) return mutation.result
      const outcome = await commitPlan(this.#client, this.#tableName, plan)
      if (outcome === 'committed') {
        for (const [id, key] of plan.homes) this.#remember(id, key)
        return mutation.result
      }
      if (attempt >= MAX_MUTATE_ATTEMPTS) {
        throw new ConflictError(`record ${recordKey} kept changing during ${attempt} attempts to update it`)
      }
      alsoRead = (mutation.requests ?? []).map((request) => request.id)
      const ceilingMs = Math.min(CONFLICT_BACKOFF_MAX_IN_MS, CONFLICT_BACKOFF_BASE_IN_MS * 2 ** attempt)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs))
    }
  }

  /**
   * The record's item (its state and current request), then the items of the requests asked for
   * and of the record's follow-up that it does not hold. Expired objects are left out of the
   * snapshot but kept in `read`: the writes are conditioned on what is stored.
   */
  async #readSnapshot(recordKey: string, requestIds: readonly string[]): Promise<{ snapshot: RecordSnapshot; read: ReadState }> {
    const now = this.#now()
    const isLive = (request: RelayRequest): boolean => !isExpired(request.expiresAt, now)
    const items: ReadItems = new Map()
    const homes: Homes = new Map()
    const readInto = async (key: ItemKey): Promise<Item | undefined> => {
      const item = await this.#get(key)
      items.set(key.pk, { key, item })
      return item
    }
    const recordKeyOfItem = recordItemKey(recordKey)
    const stored = await readInto(recordKeyOfItem)
    const current = requestOf(stored)
    if (current !== undefined) homes.set(current.id, { pk: recordKeyOfItem.pk, request: current })
    const storedRecord = recordOf(stored)
    const record = storedRecord === undefined || isExpired(storedRecord.expiresAt, now) ? undefined : storedRecord
    const wanted = new Set([...requestIds, ...[record?.requestId, record?.nextRequestId].filter((id): id is string => id !== undefined)])

    const readRequest = async (id: string): Promise<void> => {
      const own = await readInto(requestItemKey(id))
      const home = homeOf(own)
      if (home === undefined) {
        const request = requestOf(own)
        if (request !== undefined) homes.set(id, { pk: requestItemKey(id).pk, request })
        return
      }
      // A pointer here but not held here: it never became (or no longer is) the record's request.
      if (home === recordKey) return
      const other = recordItemKey(home)
      const request = requestOf(items.get(other.pk)?.item ?? (await readInto(other)))
      if (request?.id === id) homes.set(id, { pk: other.pk, request })
    }
    await Promise.all([...wanted].filter((id) => !homes.has(id)).map(readRequest))

    const requests = new Map<string, RelayRequest>()
    for (const id of wanted) {
      const found = homes.get(id)
      if (found !== undefined && isLive(found.request)) requests.set(id, found.request)
    }
    return { snapshot: { record, requests }, read: { recordKey, items, homes, isLive } }
  }

  /**
   * One conditional UpdateItem of the item that holds the request (found without a read when this
   * ledger wrote or read it recently); its index entry keeps its keys.
   */
  async markSent(requestId: string, sentAt: string): Promise<boolean> {
    const guessed = this.#knownHomes.get(requestId)
    const home = guessed ?? (await this.#locate(requestId))
    if (home === undefined) return false
    if (await this.#setSent(home, requestId, sentAt)) return true
    if (guessed === undefined) return false
    // The guess may be out of date (the request moved to its own item): look once.
    const located = await this.#locate(requestId)
    return located !== undefined && located.pk !== guessed.pk && (await this.#setSent(located, requestId, sentAt))
  }

  async #setSent(key: ItemKey, requestId: string, sentAt: string): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: key,
          UpdateExpression: 'SET #request.#sentAt = :sentAt, #request.#rev = #request.#rev + :one, #rev = #rev + :one',
          ConditionExpression: '#request.#id = :id AND #request.#state = :queued AND attribute_not_exists(#request.#sentAt)',
          ExpressionAttributeNames: { '#request': 'request', '#sentAt': 'sentAt', '#rev': 'rev', '#id': 'id', '#state': 'state' },
          ExpressionAttributeValues: { ':sentAt': sentAt, ':queued': 'queued', ':one': 1, ':id': requestId },
        }),
      )
      return true
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') return false
      throw translateAwsError(error, 'ledger write')
    }
  }

  /** The key of the item that holds the request: its own, or (a pointer there) its record's. */
  async #locate(requestId: string): Promise<ItemKey | undefined> {
    const own = requestItemKey(requestId)
    const item = await this.#get(own)
    if (item === undefined) return undefined
    const home = homeOf(item)
    const key = home === undefined ? own : recordItemKey(home)
    this.#remember(requestId, key)
    return key
  }

  #remember(requestId: string, key: ItemKey): void {
    this.#knownHomes.delete(requestId)
    this.#knownHomes.set(requestId, key)
    if (this.#knownHomes.size > KNOWN_HOMES_KEPT) this.#knownHomes.delete(this.#knownHomes.keys().next().value!)
  }

  async getRequest(id: string): Promise<RelayRequest | undefined> {
    const own = await this.#get(requestItemKey(id))
    const home = homeOf(own)
    const item = home === undefined ? own : await this.#get(recordItemKey(home))
    const request = requestOf(item)
    return request?.id === id && !isExpired(request.expiresAt, this.#now()) ? request : undefined
  }

  async getRecord(recordKey: string): Promise<RecordState | undefined> {
    const record = recordOf(await this.#get(recordItemKey(recordKey)))
    return record === undefined || isExpired(record.expiresAt, this.#now()) ? undefined : record
  }

  async listRequests(query: RequestQuery): Promise<RequestPage> {
    return listRequestsByState(this.#client, this.#tableName, normalizeRequestQuery(query), this.#now())
  }

  async hasDelivery(source: string, deliveryId: string): Promise<boolean> {
    const item = await this.#get(deliveryItemKey(source, deliveryId))
    return item !== undefined && !isExpired(item.expiresAt as number | undefined, this.#now())
  }

  async rememberDelivery(source: string, deliveryId: string, ttlSeconds: number): Promise<void> {
    const item = { ...deliveryItemKey(source, deliveryId), expiresAt: expiresAtAfter(this.#now(), ttlSeconds) }
    await this.#put(item)
  }

  async recordHeartbeat(status: AgentStatus): Promise<void> {
    await this.#put(agentItem(status))
  }

  async listAgents(): Promise<AgentStatus[]> {
    const agents: AgentStatus[] = []
    let startKey: Item | undefined
    do {
      const output = await this.#client
        .send(
          new QueryCommand({
            TableName: this.#tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': AGENTS_PARTITION },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        )
        .catch((error: unknown) => {
          throw translateAwsError(error, 'ledger read')
        })
      agents.push(...(output.Items ?? []).map(agentOf))
      startKey = output.LastEvaluatedKey
    } while (startKey !== undefined)
    return agents
  }

  async #get(key: ItemKey): Promise<Item | undefined> {
    // Consistent: a read right after a write (a provider retrying a webhook at once) must see it.
    const output = await this.#client
      .send(new GetCommand({ TableName: this.#tableName, Key: key, ConsistentRead: true }))
      .catch((error: unknown) => {
        throw translateAwsError(error, 'ledger read')
      })
    return output.Item
  }

  async #put(item: Item): Promise<void> {
    await this.#client.send(new PutCommand({ TableName: this.#tableName, Item: item })).catch((error: unknown) => {
      throw translateAwsError(error, 'ledger write')
    })
  }
}

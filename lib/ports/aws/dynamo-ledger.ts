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
  deliveryItemKey,
  fromItem,
  type Item,
  type ItemKey,
  recordItemKey,
  requestItemKey,
} from './dynamo-items.ts'
import { listRequestsByState } from './dynamo-list-requests.ts'
import { commitMutation, planMutation, type ReadRevisions } from './dynamo-mutation.ts'

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

/**
 * The ledger on one DynamoDB table (layout: dynamo-items.ts). mutateRecord is optimistic: consistent
 * reads, `decide`, then one conditional write on every item's `rev`; a lost race reads and decides again.
 */
export class DynamoLedger implements Ledger {
  readonly #tableName: string
  readonly #client: DynamoDBDocumentClient
  readonly #now: () => Date

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
    // Requests a lost attempt wanted to create: read them next time, so decide sees who won.
    let alsoRead: string[] = []
    for (let attempt = 1; ; attempt += 1) {
      const { snapshot, revisions } = await this.#readSnapshot(recordKey, [...requestIds, ...alsoRead])
      const mutation = decide(snapshot)
      const plan = planMutation(recordKey, revisions, mutation)
      if (plan.length === 0) return mutation.result
      const outcome = await commitMutation(this.#client, this.#tableName, plan)
      if (outcome === 'committed') return mutation.result
      if (attempt >= MAX_MUTATE_ATTEMPTS) {
        throw new ConflictError(`record ${recordKey} kept changing during ${attempt} attempts to update it`)
      }
      alsoRead = (mutation.requests ?? []).map((request) => request.id)
      const ceilingMs = Math.min(CONFLICT_BACKOFF_MAX_IN_MS, CONFLICT_BACKOFF_BASE_IN_MS * 2 ** attempt)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs))
    }
  }

  async #readSnapshot(recordKey: string, requestIds: readonly string[]): Promise<{ snapshot: RecordSnapshot; revisions: ReadRevisions }> {
    const now = this.#now()
    const revisions: ReadRevisions = new Map()
    const requests = new Map<string, RelayRequest>()
    // Revisions are those of the stored items, expired ones included: the write is conditioned on them.
    const readRequest = async (id: string): Promise<void> => {
      const key = requestItemKey(id)
      const item = await this.#get(key)
      revisions.set(key.pk, { key, rev: item?.rev as number | undefined })
      const request = this.#live<RelayRequest>(item, now)
      if (request !== undefined) requests.set(id, request)
    }
    const ids = new Set(requestIds)
    const recordKeyOfItem = recordItemKey(recordKey)
    const [recordStored] = await Promise.all([this.#get(recordKeyOfItem), ...[...ids].map(readRequest)])
    revisions.set(recordKeyOfItem.pk, { key: recordKeyOfItem, rev: recordStored?.rev as number | undefined })
    const record = this.#live<RecordState>(recordStored, now)
    const pointed = [record?.requestId, record?.nextRequestId].filter((id): id is string => id !== undefined && !ids.has(id))
    await Promise.all(pointed.map(readRequest))
    return { snapshot: { record, requests }, revisions }
  }

  async markSent(requestId: string, sentAt: string): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: requestItemKey(requestId),
          UpdateExpression: 'SET sentAt = :sentAt, rev = rev + :one',
          ConditionExpression: '#state = :queued AND attribute_not_exists(sentAt)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':sentAt': sentAt, ':queued': 'queued', ':one': 1 },
        }),
      )
      return true
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') return false
      throw translateAwsError(error, 'ledger write')
    }
  }

  async getRequest(id: string): Promise<RelayRequest | undefined> {
    return this.#live(await this.#get(requestItemKey(id)), this.#now())
  }

  async getRecord(recordKey: string): Promise<RecordState | undefined> {
    return this.#live(await this.#get(recordItemKey(recordKey)), this.#now())
  }

  async listRequests(query: RequestQuery): Promise<RequestPage> {
    return listRequestsByState(this.#client, this.#tableName, normalizeRequestQuery(query), this.#now())
  }

  async hasDelivery(source: string, deliveryId: string): Promise<boolean> {
    return this.#live(await this.#get(deliveryItemKey(source, deliveryId)), this.#now()) !== undefined
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
      agents.push(...(output.Items ?? []).map((item) => fromItem<AgentStatus>(item)))
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

  #live<T>(item: Item | undefined, now: Date): T | undefined {
    return item === undefined || isExpired(item.expiresAt as number | undefined, now) ? undefined : fromItem<T>(item)
  }
}

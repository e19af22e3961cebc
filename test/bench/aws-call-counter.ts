import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { SQSClient } from '@aws-sdk/client-sqs'

/** What the AWS adapters asked of SQS and DynamoDB, by API action, and the DynamoDB capacity it costs. */
export interface AwsCallCounts {
  sqs: Record<string, number>
  dynamodb: Record<string, number>
  /** Read request units as DynamoDB on-demand bills them. */
  readUnits: number
  /** Write request units as DynamoDB on-demand bills them (table and index). */
  writeUnits: number
  /**
   * The same calls and units by kind: the API action and the kinds of item it touched (the part
   * of each `pk` before its first `#`, e.g. `UpdateItem REC`), so a cost can be traced to its call.
   */
  byKind: Record<string, { calls: number; readUnits: number; writeUnits: number }>
}

type Item = Record<string, unknown>

/** The API action of an SDK command ("GetItemCommand", or lib-dynamodb's "GetCommand" → "GetItem"). */
const actionOf = (commandName: string): string =>
  ({ GetCommand: 'GetItem', BatchGetCommand: 'BatchGetItem', PutCommand: 'PutItem', UpdateCommand: 'UpdateItem', DeleteCommand: 'DeleteItem', QueryCommand: 'Query', ScanCommand: 'Scan', TransactWriteCommand: 'TransactWriteItems', TransactGetCommand: 'TransactGetItems' })[commandName] ??
  commandName.replace(/Command$/, '')

/** Size of a value as DynamoDB counts it (close enough for 1 KB / 4 KB rounding). */
function valueSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value)
  if (typeof value === 'number') return Math.ceil(String(value).replace(/[-.]/g, '').length / 2) + 1
  if (value instanceof Uint8Array) return value.length
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, entry) => sum + 1 + valueSize(entry), 0)
  if (value !== null && typeof value === 'object') return 3 + itemSize(value as Item) + Object.keys(value).length
  return 1
}

/** https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html */
const itemSize = (item: Item): number => Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value), 0)
const writeUnits = (item: Item | undefined): number => Math.max(1, Math.ceil((item ? itemSize(item) : 0) / 1024))
const readUnits = (bytes: number, consistent: boolean): number => Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5)

/**
 * Writes to the state index (gsi1, keys only: an entry is well under 1 KB) caused by a transaction
 * writing `item`: none without index keys; one for a new item (`attribute_not_exists`); two for
 * an existing one (assumed moved: its old entry deleted and a new one written — an upper bound, as
 * a transaction's input does not show the stored item).
 */
function indexWriteUnits(item: Item, condition: string | undefined): number {
  if (item.gsi1pk === undefined) return 0
  return condition?.startsWith('attribute_not_exists(pk)') && !condition.includes(' OR ') ? 1 : 2
}

const SINGLE_ITEM_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem'])

/** The item kinds a call touches: the prefix of each key's pk (`REC#…` → REC), `+`-joined, index queries as `<index>:<prefix>`. */
function itemKindsOf(input: Record<string, unknown>): string {
  const kindOf = (pk: unknown): string => (typeof pk === 'string' ? (pk.split('#')[0] ?? pk) : '?')
  const keyOf = (entry: Record<string, unknown> | undefined): unknown => ((entry?.Key ?? entry?.Item) as Item | undefined)?.pk
  if (Array.isArray(input.TransactItems)) {
    return (input.TransactItems as Record<string, Record<string, unknown>>[])
      .map((entry) => Object.entries(entry).map(([operation, body]) => `${operation === 'Put' ? '' : `${operation}:`}${kindOf(keyOf(body))}`)[0])
      .join('+')
  }
  if (input.RequestItems !== undefined) {
    const keys = Object.values(input.RequestItems as Record<string, { Keys?: Item[] }>).flatMap((request) => request.Keys ?? [])
    return [...new Set(keys.map((key) => kindOf(key.pk)))].sort().join('+')
  }
  if (input.KeyConditionExpression !== undefined) {
    const values = (input.ExpressionAttributeValues ?? {}) as Item
    return `${typeof input.IndexName === 'string' ? `${input.IndexName}:` : ''}${kindOf(values[':pk'])}`
  }
  return kindOf(keyOf(input))
}

interface Put {
  Item: Item
  ConditionExpression?: string
}

/** The units DynamoDB on-demand bills for one call, from its input and output. */
function unitsOf(action: string, input: Record<string, unknown>, output: Record<string, unknown> | undefined): { read: number; write: number } {
  const consistent = input.ConsistentRead === true
  switch (action) {
    case 'GetItem':
      return { read: readUnits(output?.Item ? itemSize(output.Item as Item) : 0, consistent), write: 0 }
    case 'BatchGetItem': {
      // Each item is rounded up to 4 KB on its own.
      const requested = (input.RequestItems ?? {}) as Record<string, { ConsistentRead?: boolean }>
      const responses = (output?.Responses ?? {}) as Record<string, Item[]>
      const read = Object.entries(responses).reduce((sum, [table, items]) => sum + items.reduce((units, item) => units + readUnits(itemSize(item), requested[table]?.ConsistentRead === true), 0), 0)
      return { read, write: 0 }
    }
    case 'Query':
    case 'Scan':
      return { read: readUnits(((output?.Items ?? []) as Item[]).reduce((sum, item) => sum + itemSize(item), 0), consistent), write: 0 }
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem': {
      // A single-item write: DynamoDB's own figure (table + every index), which DynamoDB Local gets
      // right for these (1 KB steps of the larger of the old and new item; an index entry added or
      // removed 1, moved 2, its projection changed 1). A failed conditional write is billed for
      // the item too, without touching an index: the put item's size, else (unknown) 1 unit.
      const consumed = (output?.ConsumedCapacity as { CapacityUnits?: number } | undefined)?.CapacityUnits
      if (consumed !== undefined) return { read: 0, write: consumed }
      const put = input as unknown as Partial<Put>
      return { read: 0, write: put.Item ? writeUnits(put.Item) + (output ? indexWriteUnits(put.Item, put.ConditionExpression) : 0) : 1 }
    }
    case 'TransactWriteItems': {
      // Every item is billed twice (prepare and commit), a ConditionCheck as a write of 2 units:
      // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling
      // https://martinhicks.dev/articles/what-a-conditional-dynamodb-transaction-costs (measured on DynamoDB).
      // Index writes are counted once (assumption: neither says).
      const actions = (input.TransactItems ?? []) as { Put?: Put }[]
      const write = actions.reduce((sum, entry) => sum + (entry.Put ? 2 * writeUnits(entry.Put.Item) + indexWriteUnits(entry.Put.Item, entry.Put.ConditionExpression) : 2), 0)
      return { read: 0, write }
    }
    default:
      return { read: 0, write: 0 }
  }
}

/**
 * Counts the calls the adapters make, with a middleware on the very SDK clients they use (the
 * cost model's input), and the DynamoDB units each call costs by DynamoDB's own rules. Reads and
 * transactions are computed, not read from ReturnConsumedCapacity: DynamoDB Local reports
 * transactions inconsistently (a 2-put transaction as 2 units, a 1-put one as 2 as well). Single-item
 * writes take its ConsumedCapacity (it knows the stored item's size, which an UpdateItem's input
 * does not show). Until this counted UpdateItem, markSent's write and its index update were missed.
 */
export class AwsCallCounter {
  counts: AwsCallCounts = AwsCallCounter.#empty()

  static #empty(): AwsCallCounts {
    return { sqs: {}, dynamodb: {}, readUnits: 0, writeUnits: 0, byKind: {} }
  }

  /** Returns the counts so far and starts again from zero. */
  take(): AwsCallCounts {
    const counts = this.counts
    this.counts = AwsCallCounter.#empty()
    return counts
  }

  countSqs(client: SQSClient): SQSClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const action = actionOf(context.commandName ?? 'unknown')
        this.counts.sqs[action] = (this.counts.sqs[action] ?? 0) + 1
        return next(args)
      },
      { step: 'initialize', name: 'benchCallCounter' },
    )
    return client
  }

  /** At the initialize step, lib-dynamodb's input and output are still plain objects (it marshalls later). */
  countDynamoDb(client: DynamoDBClient): DynamoDBClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const action = actionOf(context.commandName ?? 'unknown')
        const input = args.input as Record<string, unknown>
        // Single-item writes report what they consumed; asking for it changes nothing else.
        if (SINGLE_ITEM_WRITES.has(action) && input.ReturnConsumedCapacity === undefined) input.ReturnConsumedCapacity = 'INDEXES'
        const charge = (output: Record<string, unknown> | undefined, key: string): void => {
          const units = unitsOf(action, input, output)
          this.counts.dynamodb[key] = (this.counts.dynamodb[key] ?? 0) + 1
          this.counts.readUnits += units.read
          this.counts.writeUnits += units.write
          const kind = `${key} ${itemKindsOf(input)}`.trimEnd()
          const byKind = (this.counts.byKind[kind] ??= { calls: 0, readUnits: 0, writeUnits: 0 })
          byKind.calls += 1
          byKind.readUnits += units.read
          byKind.writeUnits += units.write
        }
        try {
          const result = await next(args)
          charge(result.output as unknown as Record<string, unknown>, action)
          return result
        } catch (error) {
          charge(undefined, `${action} (failed)`)
          throw error
        }
      },
      { step: 'initialize', name: 'benchCallCounter' },
    )
    return client
  }
}

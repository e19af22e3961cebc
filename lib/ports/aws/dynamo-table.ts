import { type CreateTableCommandInput, type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb'

/**
 * The GSI that lists requests by state, newest first: gsi1pk = `STATE#<state>`, gsi1sk = `<updatedAt>#<id>`.
 * Keys only: a write that keeps an item's index keys (markSent, a lease extension) then costs no
 * index write, and listing reads the items themselves (dynamo-list-requests.ts).
 */
export const LEDGER_STATE_INDEX = 'gsi1'
/** Epoch seconds; DynamoDB deletes the item some time after it passes (lazily: reads must check it too). */
export const LEDGER_TTL_ATTRIBUTE = 'expiresAt'

/**
 * The ledger's single table, as CreateTable input (tests create it from this; sst.config.ts mirrors it).
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html
 */
export function ledgerTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'gsi1pk', AttributeType: 'S' },
      { AttributeName: 'gsi1sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: LEDGER_STATE_INDEX,
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
  }
}

/** Turns on TTL deletion of expired items (a table setting separate from CreateTable). */
export async function enableLedgerTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: LEDGER_TTL_ATTRIBUTE, Enabled: true },
    }),
  )
}

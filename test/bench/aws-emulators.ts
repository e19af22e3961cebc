import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { enableLedgerTtl, ledgerTableDefinition } from '../../lib/ports/aws/dynamo-table.ts'
import { spawnDynamoDbLocal, waitForDynamoDbLocal } from '../support/dynamodb-local.ts'
import { FAKE_AWS, startSqs, uniqueName, type SqsEmulator } from '../support/emulators.ts'
import { MAX_RECEIVE_COUNT } from '../../lib/server/local-runtime.ts'

export interface AwsEmulators {
  /**
   * A fresh queue (own fauxqs) and ledger table, and what a function on AWS would find in its
   * environment to use them: each cloud the bench starts begins empty.
   */
  freshResources(): Promise<Record<string, string>>
  stop(): Promise<void>
}

/**
 * DynamoDB Local (a JVM child, started with the tests' helper) and, per cloud, an fauxqs in this
 * process (as in the tests) with a work queue + DLQ, and a ledger table made from the definition
 * the adapters are tested against.
 */
export async function startAwsEmulators(): Promise<AwsEmulators> {
  const dynamoDbLocal = await spawnDynamoDbLocal()
  let dynamodb: DynamoDBClient | undefined
  try {
    const endpoint = await waitForDynamoDbLocal(dynamoDbLocal.info)
    const client = (dynamodb = new DynamoDBClient({ ...FAKE_AWS, endpoint }))
    const createTable = async (): Promise<string> => {
      const tableName = uniqueName('ledger')
      await client.send(new CreateTableCommand(ledgerTableDefinition(tableName)))
      await enableLedgerTtl(client, tableName)
      return tableName
    }
    const queues: SqsEmulator[] = []
    return {
      freshResources: async () => {
        const sqs = await startSqs({ maxReceiveCount: MAX_RECEIVE_COUNT })
        queues.push(sqs)
        return {
          AWS_REGION: FAKE_AWS.region,
          AWS_ACCESS_KEY_ID: FAKE_AWS.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: FAKE_AWS.credentials.secretAccessKey,
          AWS_ENDPOINT_URL_SQS: sqs.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: endpoint,
          SST_RESOURCE_Queue: JSON.stringify({ url: sqs.queueUrl }),
          SST_RESOURCE_Ledger: JSON.stringify({ name: await createTable() }),
        }
      },
      stop: async () => {
        client.destroy()
        await Promise.all([...queues.map((sqs) => sqs.stop()), dynamoDbLocal.stop()])
      },
    }
  } catch (error) {
    dynamodb?.destroy()
    await dynamoDbLocal.stop()
    throw error
  }
}

import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { SQSClient } from '@aws-sdk/client-sqs'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { inject } from 'vitest'
import { enableLedgerTtl, ledgerTableDefinition } from '../../lib/ports/aws/dynamo-table.ts'
import { closeDatabase, openDatabase } from '../../lib/ports/local/open-database.ts'
import { waitForDynamoDbLocal } from './dynamodb-local.ts'

/** Fake credentials, set explicitly (DynamoDB Local only accepts letters and digits in the key id). */
export const FAKE_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'hookferrytest', secretAccessKey: 'hookferrytest' },
} as const

/** A name no parallel test uses. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`

export interface SqsEmulator {
  client: SQSClient
  endpoint: string
  queueUrl: string
  deadLetterQueueUrl: string
  maxReceiveCount: number
  stop(): Promise<void>
}

/** An in-process fauxqs with a work queue whose redrive policy moves messages to its own DLQ. */
export async function startSqs({ maxReceiveCount = 2 }: { maxReceiveCount?: number } = {}): Promise<SqsEmulator> {
  // Imported here, after openDatabase loaded node:sqlite quietly: fauxqs imports it too, and would
  // otherwise print node's ExperimentalWarning for it.
  const { startFauxqs } = await import('fauxqs')
  const server = await startFauxqs({ port: 0, logger: false })
  const deadLetters = server.createQueue(uniqueName('dlq'))
  const queue = server.createQueue(uniqueName('work'), {
    attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetters.queueArn, maxReceiveCount }) },
  })
  // fauxqs queue URLs use the host sqs.<region>.localhost: the endpoint must be explicit.
  const client = new SQSClient({ ...FAKE_AWS, endpoint: server.address })
  return {
    client,
    endpoint: server.address,
    queueUrl: queue.queueUrl,
    deadLetterQueueUrl: deadLetters.queueUrl,
    maxReceiveCount,
    stop: async () => {
      client.destroy()
      await server.stop()
    },
  }
}

export interface DynamoTable {
  client: DynamoDBDocumentClient
  endpoint: string
  tableName: string
  drop(): Promise<void>
}

/** A fresh ledger table (ledgerTableDefinition, TTL on) on the run's shared DynamoDB Local. */
export async function createDynamoTable(): Promise<DynamoTable> {
  const endpoint = await waitForDynamoDbLocal(inject('dynamoDbLocal'))
  const base = new DynamoDBClient({ ...FAKE_AWS, endpoint })
  const tableName = uniqueName('ledger')
  await base.send(new CreateTableCommand(ledgerTableDefinition(tableName)))
  await enableLedgerTtl(base, tableName)
  const client = DynamoDBDocumentClient.from(base)
  return {
    client,
    endpoint,
    tableName,
    drop: async () => {
      await base.send(new DeleteTableCommand({ TableName: tableName }))
      client.destroy()
    },
  }
}

export interface TempSqlite {
  db: DatabaseSync
  file: string
  /** Closes the database and opens the same file again (a restart). */
  reopen(): DatabaseSync
  /** Closes the database and deletes its directory. */
  cleanup(): void
}

/** A database file in a fresh temp directory, opened with openDatabase. */
export function openTempSqlite(): TempSqlite {
  const dir = mkdtempSync(join(tmpdir(), 'hookferry-test-'))
  const file = join(dir, 'hookferry.db')
  const temp: TempSqlite = {
    db: openDatabase(file),
    file,
    reopen: () => {
      closeDatabase(temp.db)
      temp.db = openDatabase(file)
      return temp.db
    },
    cleanup: () => {
      closeDatabase(temp.db)
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return temp
}

/**
 * The environment the Lambda handlers read on AWS, pointed at the emulators: the config file, the
 * SDK's endpoints and credentials, and the linked resources (`SST_RESOURCE_*`) of the queue and
 * ledger; `extra` adds more (linked secrets, Powertools settings).
 */
export function lambdaEnvironment(options: { configFile: string; sqs: SqsEmulator; table: DynamoTable; extra?: Record<string, string> }): Record<string, string> {
  return {
    HOOKFERRY_CONFIG: options.configFile,
    AWS_REGION: FAKE_AWS.region,
    AWS_ACCESS_KEY_ID: FAKE_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_AWS.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_SQS: options.sqs.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: options.table.endpoint,
    SST_RESOURCE_Queue: JSON.stringify({ url: options.sqs.queueUrl }),
    SST_RESOURCE_Ledger: JSON.stringify({ name: options.table.tableName }),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...options.extra,
  }
}

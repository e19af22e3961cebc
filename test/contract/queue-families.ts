import { SQSClient } from '@aws-sdk/client-sqs'
import { SqsWorkQueue } from '../../lib/ports/aws/sqs-queue.ts'
import { SqliteWorkQueue } from '../../lib/ports/local/sqlite-queue.ts'
import type { WorkQueue } from '../../lib/ports/queue.ts'
import { FAKE_AWS, openTempSqlite, startSqs, uniqueName } from '../support/emulators.ts'
import { selectedFamilies } from '../support/families.ts'

/** One adapter family of the work queue, set up fresh for each test. */
export interface QueueHarness {
  queue: WorkQueue
  /** The queue's dead-letter queue. */
  deadLetters: WorkQueue
  maxReceiveCount: number
  /** The same queue after a restart of its store; undefined where a test cannot restart the store. */
  reopen?: () => WorkQueue
  /** A queue whose store cannot be reached. */
  unreachable(): WorkQueue
  close(): Promise<void>
}

export interface QueueFamily {
  name: string
  create(): Promise<QueueHarness>
}

const MAX_RECEIVE_COUNT = 2

export const queueFamilies: QueueFamily[] = selectedFamilies([
  {
    name: 'aws (SQS on fauxqs)',
    create: async () => {
      const sqs = await startSqs({ maxReceiveCount: MAX_RECEIVE_COUNT })
      return {
        queue: new SqsWorkQueue({ queueUrl: sqs.queueUrl, client: sqs.client }),
        deadLetters: new SqsWorkQueue({ queueUrl: sqs.deadLetterQueueUrl, client: sqs.client }),
        maxReceiveCount: MAX_RECEIVE_COUNT,
        // Nothing listens on port 1; one attempt, so the SDK does not back off and retry first.
        unreachable: () =>
          new SqsWorkQueue({ queueUrl: sqs.queueUrl, client: new SQSClient({ ...FAKE_AWS, endpoint: 'http://127.0.0.1:1', maxAttempts: 1 }) }),
        close: sqs.stop,
      }
    },
  },
  {
    name: 'local (node:sqlite)',
    create: async () => {
      const sqlite = openTempSqlite()
      const names = { queueName: uniqueName('work'), deadLetterQueueName: uniqueName('dlq') }
      const open = (): WorkQueue => new SqliteWorkQueue({ db: sqlite.db, ...names, maxReceiveCount: MAX_RECEIVE_COUNT })
      return {
        queue: open(),
        deadLetters: new SqliteWorkQueue({ db: sqlite.db, queueName: names.deadLetterQueueName }),
        maxReceiveCount: MAX_RECEIVE_COUNT,
        reopen: () => {
          sqlite.reopen()
          return open()
        },
        unreachable: () => {
          const closed = openTempSqlite()
          const queue = new SqliteWorkQueue({ db: closed.db, queueName: 'work' })
          closed.cleanup()
          return queue
        },
        close: async () => sqlite.cleanup(),
      }
    },
  },
])

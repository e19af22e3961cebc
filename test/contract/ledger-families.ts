import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { DynamoLedger } from '../../lib/ports/aws/dynamo-ledger.ts'
import type { Ledger } from '../../lib/ports/ledger.ts'
import { SqliteLedger } from '../../lib/ports/local/sqlite-ledger.ts'
import { createDynamoTable, FAKE_AWS, openTempSqlite } from '../support/emulators.ts'
import { selectedFamilies } from '../support/families.ts'

/** A clock the test moves by hand (TTL and dedupe windows without waiting). */
export interface TestClock {
  now(): Date
  advance(seconds: number): void
}

export function testClock(start = '2031-03-01T12:00:00.000Z'): TestClock {
  let time = Date.parse(start)
  return {
    now: () => new Date(time),
    advance: (seconds) => void (time += seconds * 1000),
  }
}

/** One adapter family of the ledger, set up fresh for each test. */
export interface LedgerHarness {
  ledger: Ledger
  clock: TestClock
  /** A ledger whose store cannot be reached. */
  unreachable(): Ledger
  /** Deletes expired items now, where the adapter does it itself (DynamoDB's TTL does it on its own). */
  sweepExpired?: () => number
  close(): Promise<void>
}

export interface LedgerFamily {
  name: string
  create(): Promise<LedgerHarness>
}

export const ledgerFamilies: LedgerFamily[] = selectedFamilies([
  {
    name: 'aws (DynamoDB Local)',
    create: async () => {
      const table = await createDynamoTable()
      const clock = testClock()
      return {
        ledger: new DynamoLedger({ tableName: table.tableName, client: table.client, now: clock.now }),
        clock,
        unreachable: () => {
          // Nothing listens on port 1; one attempt, so the SDK does not back off and retry first.
          const client = DynamoDBDocumentClient.from(new DynamoDBClient({ ...FAKE_AWS, endpoint: 'http://127.0.0.1:1', maxAttempts: 1 }))
          return new DynamoLedger({ tableName: table.tableName, client, now: clock.now })
        },
        close: table.drop,
      }
    },
  },
  {
    name: 'local (node:sqlite)',
    create: async () => {
      const sqlite = openTempSqlite()
      const clock = testClock()
      const ledger = new SqliteLedger({ db: sqlite.db, now: clock.now })
      return {
        ledger,
        clock,
        unreachable: () => {
          const closed = openTempSqlite()
          const unreachable = new SqliteLedger({ db: closed.db, now: clock.now })
          closed.cleanup()
          return unreachable
        },
        sweepExpired: () => ledger.sweepExpired(),
        close: async () => sqlite.cleanup(),
      }
    },
  },
])

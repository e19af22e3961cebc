import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'
import type { ServerConfig } from '../config/server-config.ts'
import { closeDatabase, openDatabase } from '../ports/local/open-database.ts'
import { SqliteLedger } from '../ports/local/sqlite-ledger.ts'
import { SqliteWorkQueue } from '../ports/local/sqlite-queue.ts'
import { sqliteStorageUnit } from '../ports/local/storage-unit.ts'
import { compileAllSources } from '../relay/compiled-sources.ts'
import type { Log, Metrics } from '../relay/deps.ts'
import type { Runtime } from '../runtime/runtime.ts'

export const WORK_QUEUE = 'work'
export const DEAD_LETTER_QUEUE = 'dead-letters'
/** Same backstop as the SQS redrive policy in sst.config.ts. */
export const MAX_RECEIVE_COUNT = 15

export interface LocalRuntime extends Runtime {
  db: DatabaseSync
  ledger: SqliteLedger
  queue: SqliteWorkQueue
  deadLetters: SqliteWorkQueue
  counters: Map<string, number>
  close(): void
}

/** The embedded runtime: one SQLite file (WAL) in `dataDir` holds the queue and the ledger. */
export function createLocalRuntime({ config, dataDir, log, signal }: { config: ServerConfig; dataDir: string; log: Log; signal: AbortSignal }): LocalRuntime {
  compileAllSources(config)
  const db = openDatabase(join(dataDir, 'hookferry.db'))
  const counters = new Map<string, number>()
  const metrics: Metrics = {
    count: (name, value = 1) => counters.set(name, (counters.get(name) ?? 0) + value),
    gauge: (name, value) => counters.set(name, value),
  }
  const runtime: LocalRuntime = {
    config,
    db,
    ledger: new SqliteLedger({ db }),
    queue: new SqliteWorkQueue({ db, queueName: WORK_QUEUE, maxReceiveCount: MAX_RECEIVE_COUNT, deadLetterQueueName: DEAD_LETTER_QUEUE }),
    // Through the runtime's current ledger and queue, so whatever wraps them (tests) still applies.
    storageUnit: () => sqliteStorageUnit(runtime.ledger, runtime.queue),
    deadLetters: new SqliteWorkQueue({ db, queueName: DEAD_LETTER_QUEUE }),
    log,
    metrics,
    counters,
    flush: () => {},
    now: () => new Date(),
    newId: randomUUID,
    random: Math.random,
    signal,
    close: () => {
      closeDatabase(db)
    },
  }
  return runtime
}

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type * as sqlite from 'node:sqlite'
import { HookferryError } from '../../errors.ts'
import { MIGRATIONS } from './schema.ts'
import { commitGroupOf } from './commit-group.ts'
import { immediateTransaction } from './sqlite-transaction.ts'
import { loadSqliteQuietly } from '../../sqlite/load-sqlite.ts'

/** How long a writer waits for another one (possibly another process) before SQLITE_BUSY. */
const BUSY_TIMEOUT_IN_MS = 5_000

const { DatabaseSync } = loadSqliteQuietly()

/** Opens (creating if needed) the embedded store: WAL, busy_timeout, foreign keys, current schema. */
export function openDatabase(file: string): sqlite.DatabaseSync {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new DatabaseSync(file)
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_IN_MS}`)
    db.exec('PRAGMA journal_mode = WAL')
    // A 2xx to a webhook provider promises the work is on disk: sync the WAL on every commit.
    db.exec('PRAGMA synchronous = FULL')
    db.exec('PRAGMA foreign_keys = ON')
    migrate(db)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

/** Closes a database opened here: calls still waiting for the group's commit (and its sync) get it first, rather than a rollback. */
export function closeDatabase(db: sqlite.DatabaseSync): void {
  if (!db.isOpen) return
  commitGroupOf(db).close()
  db.close()
}

function migrate(db: sqlite.DatabaseSync): void {
  // Inside the write lock, so two processes opening a new file do not both migrate it.
  immediateTransaction(db, () => {
    const { user_version: version } = db.prepare('PRAGMA user_version').get() as { user_version: number }
    if (version > MIGRATIONS.length) {
      throw new HookferryError(
        'storage.schema_newer',
        `the database was written by a newer hookferry (schema ${version}, this one knows ${MIGRATIONS.length})`,
      )
    }
    for (const sql of MIGRATIONS.slice(version)) db.exec(sql)
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`)
  })
}

import type { DatabaseSync } from 'node:sqlite'
import { commitGroupOf } from './commit-group.ts'

/**
 * Runs `work` in a BEGIN IMMEDIATE transaction of its own: it takes the write lock up front, so two
 * writers (other processes included) serialise instead of failing at COMMIT. `work` is synchronous,
 * so no other code of this process runs inside the transaction. The connection's open commit group
 * is committed first (a transaction cannot nest in it); the commit is synced to disk before it returns.
 */
export function immediateTransaction<T>(db: DatabaseSync, work: () => T): T {
  const group = commitGroupOf(db)
  group.flush()
  db.exec('BEGIN IMMEDIATE')
  try {
    const result = work()
    db.exec('COMMIT')
    group.syncNow()
    return result
  } catch (error) {
    if (db.isOpen && db.isTransaction) db.exec('ROLLBACK')
    throw error
  }
}

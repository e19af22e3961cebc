import type { DatabaseSync } from 'node:sqlite'
import { withSqlite } from './sqlite-errors.ts'

interface Waiter {
  settle(error: unknown): void
}

/**
 * Group commit for one connection: every call made while a transaction is open joins it, and the
 * transaction commits once per turn of the event loop (setImmediate), so webhooks arriving together
 * share one fsync instead of paying one each. No caller sees a result before the commit that holds
 * it: writes, and reads that ran inside the open transaction (they may have seen its uncommitted
 * rows), resolve only after COMMIT returned; when COMMIT fails, every one of them rejects. Each
 * write runs in its own SAVEPOINT, so a failing one is undone alone and the others still commit.
 * node:sqlite is synchronous: a call runs to the end before any other code of this process runs.
 */
export class CommitGroup {
  readonly #db: DatabaseSync
  #waiters: Waiter[] = []
  #flushScheduled = false

  constructor(db: DatabaseSync) {
    this.#db = db
  }

  /** Runs `work` now inside the open transaction (opening one if needed); resolves after its commit. */
  write<T>(action: string, work: () => T): Promise<T> {
    let outcome: { value: T } | { error: unknown }
    try {
      withSqlite(action, () => {
        if (this.#waiters.length === 0) this.#db.exec('BEGIN IMMEDIATE')
      })
      outcome = this.#inSavepoint(action, work)
    } catch (error) {
      // BEGIN or SAVEPOINT failed (busy past the timeout, closed): nothing of this call was written.
      if (this.#waiters.length === 0 && this.#db.isOpen && this.#db.isTransaction) this.#db.exec('ROLLBACK')
      return Promise.reject(error as Error)
    }
    return this.#settleAfterCommit(outcome)
  }

  /** Runs `work` now; when a transaction is open it may see uncommitted rows, so it resolves after that commit. */
  read<T>(action: string, work: () => T): Promise<T> {
    let outcome: { value: T } | { error: unknown }
    try {
      outcome = { value: withSqlite(action, work) }
    } catch (error) {
      outcome = { error }
    }
    if (this.#waiters.length === 0) return 'value' in outcome ? Promise.resolve(outcome.value) : Promise.reject(outcome.error as Error)
    return this.#settleAfterCommit(outcome)
  }

  /** Commits the open transaction now (before a synchronous transaction of its own, or before closing). */
  flush(): void {
    const waiters = this.#waiters
    if (waiters.length === 0) return
    this.#waiters = []
    let failure: unknown
    try {
      withSqlite('commit', () => this.#db.exec('COMMIT'))
    } catch (error) {
      failure = error
      try {
        if (this.#db.isOpen && this.#db.isTransaction) this.#db.exec('ROLLBACK')
      } catch {
        // The connection is gone: SQLite rolled back on its own.
      }
    }
    for (const waiter of waiters) waiter.settle(failure)
  }

  #inSavepoint<T>(action: string, work: () => T): { value: T } | { error: unknown } {
    withSqlite(action, () => this.#db.exec('SAVEPOINT op'))
    try {
      const value = withSqlite(action, work)
      this.#db.exec('RELEASE op')
      return { value }
    } catch (error) {
      if (this.#db.isOpen && this.#db.isTransaction) {
        this.#db.exec('ROLLBACK TO op')
        this.#db.exec('RELEASE op')
      }
      return { error }
    }
  }

  #settleAfterCommit<T>(outcome: { value: T } | { error: unknown }): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      this.#waiters.push({
        settle: (commitError) => {
          if (commitError !== undefined) reject(commitError as Error)
          else if ('error' in outcome) reject(outcome.error as Error)
          else resolve(outcome.value)
        },
      })
    })
    if (!this.#flushScheduled) {
      this.#flushScheduled = true
      setImmediate(() => {
        this.#flushScheduled = false
        this.flush()
      })
    }
    return promise
  }
}

const groups = new WeakMap<DatabaseSync, CommitGroup>()

/** The commit group of `db`, shared by every ledger and queue of this process on that connection. */
export function commitGroupOf(db: DatabaseSync): CommitGroup {
  let group = groups.get(db)
  if (group === undefined) groups.set(db, (group = new CommitGroup(db)))
  return group
}

import type { DatabaseSync } from 'node:sqlite'
import { withSqlite } from './sqlite-errors.ts'

interface Waiter {
  settle(error: unknown): void
}

/**
 * The storage calls of one webhook, made as one unit: each call answers at once (the next one runs
 * in the same transaction and sees it), and `durable()` resolves once every group the unit's calls
 * joined has committed, or rejects if one of those commits failed. A caller must not tell anyone
 * outside the process about the unit's results before `durable()` resolved.
 */
export class CommitUnit {
  readonly #commits = new Set<Promise<void>>()

  /** Called by the group for each call of this unit made while a transaction is open. */
  joined(commit: Promise<void>): void {
    this.#commits.add(commit)
  }

  async durable(): Promise<void> {
    await Promise.all(this.#commits)
  }
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
  #open = false
  #waiters: Waiter[] = []
  #flushScheduled = false
  /** Settles with the open transaction's COMMIT: what units wait for. */
  #commit: { promise: Promise<void>; settle(error: unknown): void } | undefined

  constructor(db: DatabaseSync) {
    this.#db = db
  }

  /** True while a transaction is open: this process holds the write lock until the turn ends. */
  get inTransaction(): boolean {
    return this.#open
  }

  /**
   * Runs `work` now inside the open transaction (opening one if needed); resolves after its commit,
   * or at once as part of `unit` (whose durable() then waits for that commit).
   */
  write<T>(action: string, work: () => T, unit?: CommitUnit): Promise<T> {
    let outcome: { value: T } | { error: unknown }
    try {
      withSqlite(action, () => {
        if (this.#open) return
        this.#db.exec('BEGIN IMMEDIATE')
        this.#open = true
      })
      outcome = this.#inSavepoint(action, work)
    } catch (error) {
      // BEGIN or SAVEPOINT failed (busy past the timeout, closed): nothing of this call was written.
      if (this.#open && this.#waiters.length === 0 && this.#commit === undefined) this.#rollback()
      return Promise.reject(error as Error)
    }
    return this.#settleAfterCommit(outcome, unit)
  }

  /**
   * Runs `work` now; when a transaction is open it may see uncommitted rows, so it resolves after
   * that commit (or at once as part of `unit`).
   */
  read<T>(action: string, work: () => T, unit?: CommitUnit): Promise<T> {
    let outcome: { value: T } | { error: unknown }
    try {
      outcome = { value: withSqlite(action, work) }
    } catch (error) {
      outcome = { error }
    }
    if (!this.#open) return 'value' in outcome ? Promise.resolve(outcome.value) : Promise.reject(outcome.error as Error)
    return this.#settleAfterCommit(outcome, unit)
  }

  /** Commits the open transaction now (before a synchronous transaction of its own, or before closing). */
  flush(): void {
    if (!this.#open) return
    this.#open = false
    const waiters = this.#waiters
    this.#waiters = []
    const commit = this.#commit
    this.#commit = undefined
    let failure: unknown
    try {
      withSqlite('commit', () => this.#db.exec('COMMIT'))
    } catch (error) {
      failure = error
      this.#rollback()
    }
    commit?.settle(failure)
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

  #settleAfterCommit<T>(outcome: { value: T } | { error: unknown }, unit: CommitUnit | undefined): Promise<T> {
    if (unit !== undefined) {
      unit.joined(this.#commitOfGroup())
      this.#scheduleFlush()
      return 'value' in outcome ? Promise.resolve(outcome.value) : Promise.reject(outcome.error as Error)
    }
    const promise = new Promise<T>((resolve, reject) => {
      this.#waiters.push({
        settle: (commitError) => {
          if (commitError !== undefined) reject(commitError as Error)
          else if ('error' in outcome) reject(outcome.error as Error)
          else resolve(outcome.value)
        },
      })
    })
    this.#scheduleFlush()
    return promise
  }

  #rollback(): void {
    this.#open = false
    try {
      if (this.#db.isOpen && this.#db.isTransaction) this.#db.exec('ROLLBACK')
    } catch {
      // The connection is gone: SQLite rolled back on its own.
    }
  }

  #commitOfGroup(): Promise<void> {
    if (this.#commit === undefined) {
      let settle!: (error: unknown) => void
      const promise = new Promise<void>((resolve, reject) => (settle = (error) => (error === undefined ? resolve() : reject(error as Error))))
      // Only units await it; a failed commit must not also surface as an unhandled rejection.
      promise.catch(() => {})
      this.#commit = { promise, settle }
    }
    return this.#commit.promise
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return
    this.#flushScheduled = true
    setImmediate(() => {
      this.#flushScheduled = false
      this.flush()
    })
  }
}

const groups = new WeakMap<DatabaseSync, CommitGroup>()

/** The commit group of `db`, shared by every ledger and queue of this process on that connection. */
export function commitGroupOf(db: DatabaseSync): CommitGroup {
  let group = groups.get(db)
  if (group === undefined) groups.set(db, (group = new CommitGroup(db)))
  return group
}

import type { DatabaseSync } from 'node:sqlite'
import { StorageUnavailableError } from '../../errors.ts'
import { withSqlite } from './sqlite-errors.ts'
import { WalSync } from './wal-sync.ts'

interface Waiter {
  settle(error: unknown): void
}

/** Makes what was committed so far durable (see wal-sync.ts). */
export interface LogSyncer {
  sync(): Promise<void>
  syncNow(): void
  close?(): void
}

/** Commits done, waiting for the log sync that makes them durable. */
interface Unsynced {
  waiters: Waiter[]
  commits: { settle(error: unknown): void }[]
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
 * it is durable: writes, and reads that ran inside the open transaction (they may have seen its
 * uncommitted rows), resolve only after COMMIT returned and the log was synced; when either fails,
 * every one of them rejects. Each write runs in its own SAVEPOINT, so a failing one is undone alone
 * and the others still commit. node:sqlite is synchronous: a call runs to the end before any other
 * code of this process runs.
 *
 * For a file database in WAL mode the sync runs off the event loop (wal-sync.ts): COMMIT only
 * writes the log, and the next turns' transactions run while the disk syncs (one sync at a time;
 * the commits made meanwhile share the next one). A read outside any transaction waits for the
 * sync in progress too, since it may have seen rows committed but not yet durable. A failed sync
 * leaves the group broken: every later call rejects as storage unavailable (the server answers
 * 503) until the process restarts, since what reached the disk is then unknown.
 */
export class CommitGroup {
  readonly #db: DatabaseSync
  #open = false
  #waiters: Waiter[] = []
  #flushScheduled = false
  /** Settles with the open transaction's COMMIT: what units wait for. */
  #commit: { promise: Promise<void>; settle(error: unknown): void } | undefined
  readonly #wal: LogSyncer | undefined
  /** Committed, for the next sync (`#inFlight` is the one running). */
  #unsynced: Unsynced = { waiters: [], commits: [] }
  /** The batch of the sync running now. */
  #inFlight: Unsynced | undefined
  #closed = false
  #broken: Error | undefined

  /** `syncer`: how commits become durable after COMMIT (default: WalSync for a file in WAL mode; none: COMMIT with FULL). */
  constructor(db: DatabaseSync, syncer: LogSyncer | undefined = WalSync.for(db)) {
    this.#db = db
    this.#wal = syncer
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
    if (this.#broken) return Promise.reject(this.#broken)
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
    if (!this.#open) return this.#settleAfterSync(outcome)
    return this.#settleAfterCommit(outcome, unit)
  }

  /** Synchronous transactions of others on this connection (migrations, sweeps) make their commit durable here. */
  syncNow(): void {
    this.#wal?.syncNow()
  }

  /** Commits, syncs what is still waiting for a sync (blocking), settles every waiter: before closing the connection. */
  close(): void {
    this.#closed = true
    this.flush()
    const batches = [this.#inFlight, this.#takeUnsynced()].filter((batch) => batch !== undefined)
    this.#inFlight = undefined
    if (batches.every(isEmpty)) return this.#wal?.close?.()
    let failure: unknown
    try {
      this.#wal?.syncNow()
    } catch (error) {
      failure = new StorageUnavailableError('could not sync the database log to disk', { cause: error })
    }
    // The sync that was running may end later: settling again is then a no-op.
    for (const batch of batches) settleBatch(batch, failure)
    this.#wal?.close?.()
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
    if (failure !== undefined || this.#wal === undefined) {
      // Failed (nothing of it is kept), or committed with synchronous = FULL: settled now.
      commit?.settle(failure)
      for (const waiter of waiters) waiter.settle(failure)
      return
    }
    this.#unsynced.waiters.push(...waiters)
    if (commit) this.#unsynced.commits.push(commit)
    if (!this.#closed) this.#startSync()
  }

  #takeUnsynced(): Unsynced {
    const batch = this.#unsynced
    this.#unsynced = { waiters: [], commits: [] }
    return batch
  }

  /** One sync at a time; commits made while it runs wait for the next one. */
  #startSync(): void {
    if (this.#inFlight !== undefined || this.#wal === undefined || this.#closed || isEmpty(this.#unsynced)) return
    const batch = (this.#inFlight = this.#takeUnsynced())
    this.#wal.sync().then(
      () => {
        if (this.#inFlight === batch) this.#inFlight = undefined
        settleBatch(batch, undefined)
        this.#startSync()
      },
      (error: unknown) => {
        if (this.#inFlight === batch) this.#inFlight = undefined
        this.#broken = new StorageUnavailableError('could not sync the database log to disk; restart hookferry', { cause: error })
        settleBatch(batch, this.#broken)
        settleBatch(this.#takeUnsynced(), this.#broken)
      },
    )
  }

  /** A read outside any transaction: it may have seen rows committed but not yet synced. */
  #settleAfterSync<T>(outcome: { value: T } | { error: unknown }): Promise<T> {
    const settled = (): Promise<T> => ('value' in outcome ? Promise.resolve(outcome.value) : Promise.reject(outcome.error as Error))
    if (this.#broken) return Promise.reject(this.#broken)
    if (this.#inFlight === undefined && isEmpty(this.#unsynced)) return settled()
    return new Promise<T>((resolve, reject) => {
      this.#unsynced.waiters.push({ settle: (error) => (error === undefined ? settled().then(resolve, reject) : reject(error as Error)) })
      this.#startSync()
    })
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

function isEmpty(batch: Unsynced): boolean {
  return batch.waiters.length === 0 && batch.commits.length === 0
}

function settleBatch(batch: Unsynced, error: unknown): void {
  for (const commit of batch.commits) commit.settle(error)
  for (const waiter of batch.waiters) waiter.settle(error)
}

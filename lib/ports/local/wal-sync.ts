import { closeSync, fdatasyncSync, fsyncSync, openSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'

/**
 * Makes a WAL database's commits durable OFF the event loop. With `synchronous = FULL` SQLite
 * fsyncs the write-ahead log inside COMMIT, and node:sqlite runs COMMIT on the event loop: while
 * the disk syncs, no request is parsed (on a shared disk that was most of `serve`'s busy time).
 * Here the connection commits with `synchronous = NORMAL` (SQLite writes the WAL frames, but does
 * not sync them) and the log is then synced with fdatasync on libuv's thread pool; the caller
 * tells nobody about a commit before that sync returned. Crash-safety is SQLite's own: in WAL
 * mode NORMAL never corrupts the database, it can only lose commits not yet synced, and no
 * one was told of those. Checkpoints still sync the WAL and the database inside SQLite.
 */
export class WalSync {
  readonly #wal: string
  readonly #directory: string
  #directorySynced = false
  /** The log, kept open between syncs (two thread-pool calls fewer per sync). */
  #handle: FileHandle | undefined
  #syncing = false
  #closeWhenIdle = false

  private constructor(file: string) {
    this.#wal = `${file}-wal`
    this.#directory = dirname(file)
  }

  /** For a file database in WAL mode: switches the connection to NORMAL and returns the syncer; else undefined (keep FULL). */
  static for(db: DatabaseSync): WalSync | undefined {
    const file = db.location()
    if (file === null || file === '') return undefined
    const { journal_mode: mode } = db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }
    if (mode.toLowerCase() !== 'wal') return undefined
    db.exec('PRAGMA synchronous = NORMAL')
    return new WalSync(file)
  }

  /** Syncs what was committed so far, on the thread pool. */
  async sync(): Promise<void> {
    this.#syncing = true
    try {
      await this.#syncLog()
    } finally {
      this.#syncing = false
      if (this.#closeWhenIdle) this.#closeHandle()
    }
  }

  async #syncLog(): Promise<void> {
    this.#handle ??= await open(this.#wal, 'r+').catch(ignoreMissingLog)
    if (this.#handle === undefined) return
    await this.#handle.datasync()
    this.#syncDirectoryOnce()
  }

  /** Closes the kept log handle (at once, or when the sync running now ends). */
  close(): void {
    if (this.#syncing) this.#closeWhenIdle = true
    else this.#closeHandle()
  }

  #closeHandle(): void {
    const handle = this.#handle
    this.#handle = undefined
    this.#closeWhenIdle = false
    void handle?.close().catch(() => undefined)
  }

  /** The same, blocking: for the rare synchronous transactions (migrations, sweeps) and for closing. */
  syncNow(): void {
    let fd: number
    try {
      fd = openSync(this.#wal, 'r+')
    } catch (error) {
      return ignoreMissingLog(error)
    }
    try {
      fdatasyncSync(fd)
    } finally {
      closeSync(fd)
    }
    this.#syncDirectoryOnce()
  }

  /**
   * Once per store: the WAL file's own directory entry (it was created after the database). A
   * single blocking fsync of a directory, shared by the sync on the thread pool and syncNow.
   */
  #syncDirectoryOnce(): void {
    if (this.#directorySynced) return
    const directory = openSync(this.#directory, 'r')
    try {
      fsyncSync(directory)
    } finally {
      closeSync(directory)
    }
    this.#directorySynced = true
  }
}

/**
 * No log file: a connection that closed last checkpointed it into the database (syncing both)
 * and removed it, so nothing committed waits in it.
 */
function ignoreMissingLog(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
  throw error
}

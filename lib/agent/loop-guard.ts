import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type * as sqlite from 'node:sqlite'
import { loadSqliteQuietly } from '../sqlite/load-sqlite.ts'

/** Wait for a concurrent writer (a second agent on the same dataDir) rather than fail at once. */
const BUSY_TIMEOUT_IN_MS = 5_000
export const LOOP_GUARD_FILE = 'loop-guard.sqlite'

/**
 * Loop prevention for two-way sync (invariant 7). Remembers, per source and record, the hash of
 * the content last delivered (see content-hash.ts). When a webhook comes back because our own
 * write-back changed the record, the fetched content hashes the same (its volatile fields are in
 * `ignoreFields`) and the delivery is skipped, which ends the write-back → webhook → deliver loop.
 * The cloud keeps one request per record in flight (invariant 3), so checks and updates of one
 * record never race.
 */
export class LoopGuard {
  readonly #db: sqlite.DatabaseSync
  readonly #select: sqlite.StatementSync
  readonly #upsert: sqlite.StatementSync
  readonly #delete: sqlite.StatementSync
  readonly #now: () => number

  constructor(dataDir: string, now: () => number = Date.now) {
    mkdirSync(dataDir, { recursive: true })
    const { DatabaseSync } = loadSqliteQuietly()
    this.#db = new DatabaseSync(join(dataDir, LOOP_GUARD_FILE))
    this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_IN_MS}`)
    this.#db.exec('PRAGMA journal_mode = WAL')
    // No fsync per delivery: SQLite's default (FULL) syncs on every record, blocking the event loop
    // (~1 ms per record under load in `npm run bench`). In WAL mode NORMAL loses nothing when the
    // agent is killed; a power loss can only roll back the last hashes, which costs one more
    // delivery of unchanged content under the same idempotency key, never a loop.
    this.#db.exec('PRAGMA synchronous = NORMAL')
    this.#db.exec(`CREATE TABLE IF NOT EXISTS delivered (
      source TEXT NOT NULL,
      record_key TEXT NOT NULL,
      content_hash TEXT NOT NULL,
      delivered_at TEXT NOT NULL,
      PRIMARY KEY (source, record_key)
    ) WITHOUT ROWID`)
    this.#select = this.#db.prepare('SELECT content_hash FROM delivered WHERE source = ? AND record_key = ?')
    this.#upsert = this.#db.prepare(
      `INSERT INTO delivered (source, record_key, content_hash, delivered_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (source, record_key) DO UPDATE SET content_hash = excluded.content_hash, delivered_at = excluded.delivered_at`,
    )
    this.#delete = this.#db.prepare('DELETE FROM delivered WHERE source = ? AND record_key = ?')
    this.#now = now
  }

  /** True when `contentHash` is what was last delivered for this record. */
  isUnchanged(source: string, recordKey: string, contentHash: string): boolean {
    const row = this.#select.get(source, recordKey) as { content_hash: string } | undefined
    return row?.content_hash === contentHash
  }

  /** Records a successful delivery of this content. */
  remember(source: string, recordKey: string, contentHash: string): void {
    this.#upsert.run(source, recordKey, contentHash, new Date(this.#now()).toISOString())
  }

  /** The record was deleted: if it comes back with the same content, deliver it again. */
  forget(source: string, recordKey: string): void {
    this.#delete.run(source, recordKey)
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }
}

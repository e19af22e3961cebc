import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type * as sqlite from 'node:sqlite'
import { loadSqliteQuietly } from '../sqlite/load-sqlite.ts'

/** Wait for a concurrent writer (a second agent on the same dataDir) rather than fail at once. */
const BUSY_TIMEOUT_IN_MS = 5_000
export const LOOP_GUARD_FILE = 'loop-guard.sqlite'

/** Whose last delivery a hash is: the source and a fingerprint of where it was delivered. */
export interface LoopScope {
  source: string
  /** Changes when the sink config changes, so a new destination gets every record once. */
  destination: string
}

const DAY_IN_MS = 86_400_000

/**
 * Loop prevention for two-way sync (invariant 7). Remembers, per source, destination and record,
 * the hash of the content last delivered (see content-hash.ts). When a webhook comes back because
 * our own write-back changed the record, the fetched content hashes the same (its volatile fields
 * are in `ignoreFields`) and the delivery is skipped, which ends the write-back → webhook →
 * deliver loop. Keyed by destination too: pointing a source at a new sink delivers every record
 * to it, rather than acking unchanged content that the new sink never saw. Hashes older than a
 * source's `forgetAfterDays` are pruned (forgetting costs at most one extra delivery of
 * unchanged content, under the same idempotency key, never a loop). The cloud keeps one request
 * per record in flight (invariant 3), so checks and updates of one record never race.
 */
export class LoopGuard {
  readonly #db: sqlite.DatabaseSync
  readonly #select: sqlite.StatementSync
  readonly #upsert: sqlite.StatementSync
  readonly #delete: sqlite.StatementSync
  readonly #prune: sqlite.StatementSync
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
    // The first version kept no destination; its hashes cannot say which sink saw what.
    this.#db.exec('DROP TABLE IF EXISTS delivered')
    this.#db.exec(`CREATE TABLE IF NOT EXISTS delivered_to (
      source TEXT NOT NULL,
      destination TEXT NOT NULL,
      record_key TEXT NOT NULL,
      content_hash TEXT NOT NULL,
      delivered_at TEXT NOT NULL,
      PRIMARY KEY (source, destination, record_key)
    ) WITHOUT ROWID`)
    this.#db.exec('CREATE INDEX IF NOT EXISTS delivered_to_age ON delivered_to (source, delivered_at)')
    this.#select = this.#db.prepare('SELECT content_hash FROM delivered_to WHERE source = ? AND destination = ? AND record_key = ?')
    this.#upsert = this.#db.prepare(
      `INSERT INTO delivered_to (source, destination, record_key, content_hash, delivered_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (source, destination, record_key) DO UPDATE SET content_hash = excluded.content_hash, delivered_at = excluded.delivered_at`,
    )
    this.#delete = this.#db.prepare('DELETE FROM delivered_to WHERE source = ? AND destination = ? AND record_key = ?')
    this.#prune = this.#db.prepare('DELETE FROM delivered_to WHERE source = ? AND delivered_at < ?')
    this.#now = now
  }

  /** True when `contentHash` is what was last delivered for this record to this destination. */
  isUnchanged(scope: LoopScope, recordKey: string, contentHash: string): boolean {
    const row = this.#select.get(scope.source, scope.destination, recordKey) as { content_hash: string } | undefined
    return row?.content_hash === contentHash
  }

  /** Records a successful delivery of this content. */
  remember(scope: LoopScope, recordKey: string, contentHash: string): void {
    this.#upsert.run(scope.source, scope.destination, recordKey, contentHash, new Date(this.#now()).toISOString())
  }

  /** Records many deliveries in one transaction (a sync run's chunk): one commit, not one per record. */
  rememberAll(scope: LoopScope, delivered: readonly { recordKey: string; contentHash: string }[]): void {
    if (delivered.length === 0) return
    const at = new Date(this.#now()).toISOString()
    this.#db.exec('BEGIN')
    try {
      for (const { recordKey, contentHash } of delivered) this.#upsert.run(scope.source, scope.destination, recordKey, contentHash, at)
      this.#db.exec('COMMIT')
    } catch (error) {
      this.#db.exec('ROLLBACK')
      throw error
    }
  }

  /** The record was deleted: if it comes back with the same content, deliver it again. */
  forget(scope: LoopScope, recordKey: string): void {
    this.#delete.run(scope.source, scope.destination, recordKey)
  }

  /** Drops the source's hashes older than `days`; returns how many. */
  prune(source: string, days: number): number {
    const cutoff = new Date(this.#now() - days * DAY_IN_MS).toISOString()
    return Number(this.#prune.run(source, cutoff).changes)
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }
}

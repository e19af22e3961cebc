import { randomUUID } from 'node:crypto'
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { MAX_RECEIVE_MESSAGES, type QueueMessage, type ReceiveOptions, type SendEntry, type WorkQueue } from '../queue.ts'
import { commitGroupOf, type CommitGroup, type CommitUnit } from './commit-group.ts'
import { listenForQueue, notifyQueue } from './queue-notifier.ts'
import { withSqlite } from './sqlite-errors.ts'

/**
 * Another process writing to the same file cannot wake our notifier: a waiting poll also looks
 * again this often. In-process sends (the embedded server) wake it at once.
 */
const OTHER_PROCESS_CHECK_IN_MS = 500

export interface SqliteWorkQueueOptions {
  db: DatabaseSync
  queueName: string
  /** Redrive: a message that would be received more than this many times moves to `deadLetterQueueName`. */
  maxReceiveCount?: number
  deadLetterQueueName?: string
  now?: () => Date
}

interface MessageRow {
  id: string
  body: string
  receive_count: number
}

/** The work queue on node:sqlite, with SQS standard-queue semantics (leases, receive counts, redrive). */
export class SqliteWorkQueue implements WorkQueue {
  readonly #db: DatabaseSync
  readonly #group: CommitGroup
  readonly #queueName: string
  readonly #redrive: { maxReceiveCount: number; deadLetterQueueName: string } | undefined
  readonly #now: () => Date
  readonly #sql: Record<'insert' | 'anyVisible' | 'visible' | 'lease' | 'redrive' | 'nextVisibleAt' | 'delete' | 'changeVisibility', StatementSync>

  constructor({ db, queueName, maxReceiveCount, deadLetterQueueName, now = () => new Date() }: SqliteWorkQueueOptions) {
    if ((maxReceiveCount === undefined) !== (deadLetterQueueName === undefined)) {
      throw new TypeError('a redrive needs both maxReceiveCount and deadLetterQueueName')
    }
    this.#db = db
    this.#group = commitGroupOf(db)
    this.#queueName = queueName
    this.#redrive =
      maxReceiveCount === undefined || deadLetterQueueName === undefined ? undefined : { maxReceiveCount, deadLetterQueueName }
    this.#now = now
    this.#sql = {
      insert: db.prepare('INSERT INTO queue_messages (id, queue, body, visible_at, sent_at) VALUES (?, ?, ?, ?, ?)'),
      anyVisible: db.prepare('SELECT 1 FROM queue_messages WHERE queue = ? AND visible_at <= ? LIMIT 1'),
      visible: db.prepare(
        'SELECT id, body, receive_count FROM queue_messages WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?',
      ),
      lease: db.prepare('UPDATE queue_messages SET receipt = ?, visible_at = ?, receive_count = receive_count + 1 WHERE id = ?'),
      redrive: db.prepare('UPDATE queue_messages SET queue = ?, visible_at = ?, receipt = NULL WHERE id = ?'),
      nextVisibleAt: db.prepare('SELECT MIN(visible_at) AS at FROM queue_messages WHERE queue = ?'),
      delete: db.prepare('DELETE FROM queue_messages WHERE queue = ? AND receipt = ?'),
      // Only while in flight, like SQS (MessageNotInflight): a lapsed lease cannot be revived.
      changeVisibility: db.prepare('UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND receipt = ? AND visible_at > ?'),
    }
  }

  /** With `unit`, the send is part of that CommitUnit (sqliteStorageUnit). */
  async send(entries: SendEntry[], unit?: CommitUnit): Promise<void> {
    for (const entry of entries) assertWithin('delaySeconds', entry.delaySeconds ?? 0, 0, 900)
    const now = this.#now().getTime()
    await this.#group.write('queue send', () => {
      for (const entry of entries) {
        this.#sql.insert.run(randomUUID(), this.#queueName, entry.body, now + (entry.delaySeconds ?? 0) * 1000, now)
      }
    }, unit)
    // A woken poll that finds the message still uncommitted (a unit's send) answers after its commit.
    notifyQueue(this.#db, this.#queueName)
  }

  async receive({ maxMessages, waitSeconds, visibilitySeconds, signal }: ReceiveOptions): Promise<QueueMessage[]> {
    assertWithin('maxMessages', maxMessages, 1, MAX_RECEIVE_MESSAGES)
    assertWithin('waitSeconds', waitSeconds, 0, 20)
    assertWithin('visibilitySeconds', visibilitySeconds, 0, 43_200)
    const deadline = Date.now() + waitSeconds * 1000
    for (;;) {
      if (signal?.aborted) return []
      const listener = withSqlite('queue receive', () => listenForQueue(this.#db, this.#queueName))
      try {
        const messages = await this.#receiveVisible(maxMessages, visibilitySeconds)
        const remainingMs = deadline - Date.now()
        if (messages.length > 0 || remainingMs <= 0) return messages
        // Sleep until a send wakes us, or the earliest hidden message becomes visible.
        const untilVisibleMs = (await this.#msUntilNextVisible()) ?? Number.POSITIVE_INFINITY
        await listener.wait(Math.max(1, Math.min(remainingMs, untilVisibleMs, OTHER_PROCESS_CHECK_IN_MS)), signal)
      } finally {
        listener.stop()
      }
    }
  }

  async delete(receipt: string): Promise<void> {
    await this.#group.write('queue delete', () => this.#sql.delete.run(this.#queueName, receipt))
  }

  async changeVisibility(receipt: string, visibilitySeconds: number): Promise<void> {
    assertWithin('visibilitySeconds', visibilitySeconds, 0, 43_200)
    const now = this.#now().getTime()
    await this.#group.write('queue change visibility', () =>
      this.#sql.changeVisibility.run(now + visibilitySeconds * 1000, this.#queueName, receipt, now),
    )
    // Waiting polls recompute when the earliest message becomes visible (now, for a release).
    notifyQueue(this.#db, this.#queueName)
  }

  async #receiveVisible(maxMessages: number, visibilitySeconds: number): Promise<QueueMessage[]> {
    const now = this.#now().getTime()
    const redrive = this.#redrive
    let redriven = 0
    // A plain read first: an empty queue must not take the write lock on every look. With a
    // transaction open the lock is ours anyway: lease in it, and answer with its commit (a send
    // that woke this poll commits with the lease: one commit from webhook to pickup, not two).
    if (!this.#group.inTransaction && (await this.#group.read('queue receive', () => this.#sql.anyVisible.get(this.#queueName, now))) === undefined) return []
    const received = await this.#group.write('queue receive', () => {
        const taken: QueueMessage[] = []
        const takenIds = new Set<string>()
        // Redriven messages free their slots: look again until full or a pass redrives nothing.
        for (let redrivenInPass = 1; redrivenInPass > 0 && taken.length < maxMessages; ) {
          redrivenInPass = 0
          // With visibilitySeconds 0 a leased message is still "visible now": skip the ones taken.
          const limit = maxMessages - taken.length + takenIds.size
          const rows = this.#sql.visible.all(this.#queueName, now, limit) as unknown as MessageRow[]
          for (const row of rows) {
            if (takenIds.has(row.id) || taken.length === maxMessages) continue
            if (redrive !== undefined && row.receive_count >= redrive.maxReceiveCount) {
              this.#sql.redrive.run(redrive.deadLetterQueueName, now, row.id)
              redrivenInPass += 1
              redriven += 1
              continue
            }
            const receipt = randomUUID()
            this.#sql.lease.run(receipt, now + visibilitySeconds * 1000, row.id)
            takenIds.add(row.id)
            taken.push({ receipt, body: row.body, receiveCount: row.receive_count + 1, messageId: row.id })
          }
        }
        return taken
    })
    if (redrive !== undefined && redriven > 0) notifyQueue(this.#db, redrive.deadLetterQueueName)
    return received
  }

  async #msUntilNextVisible(): Promise<number | undefined> {
    const row = (await this.#group.read('queue receive', () => this.#sql.nextVisibleAt.get(this.#queueName))) as { at: number | null } | undefined
    return row?.at == null ? undefined : row.at - this.#now().getTime()
  }
}

function assertWithin(name: string, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) throw new RangeError(`${name} must be within ${min}..${max}`)
}

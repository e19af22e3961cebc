import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite'
import type { AgentStatus, RecordState, RelayRequest } from '../../relay/types.ts'
import type { Ledger, RecordMutation, RecordSnapshot, RequestPage, RequestQuery } from '../ledger.ts'
import {
  decodeCursor,
  encodeCursor,
  epochSeconds,
  expiresAtAfter,
  isExpired,
  normalizeRequestQuery,
} from '../ledger-query.ts'
import { commitGroupOf, type CommitGroup, type CommitUnit } from './commit-group.ts'
import { withSqlite } from './sqlite-errors.ts'
import { immediateTransaction } from './sqlite-transaction.ts'

interface StoredRow {
  data: string
  rev: number
  expires_at: number | null
}

type ListCursor = [updatedAt: string, id: string]
const isListCursor = (value: unknown): value is ListCursor =>
  Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string')

/**
 * The ledger on node:sqlite: every write joins the connection's commit group (one savepoint each,
 * one durable commit for all the calls of an event-loop turn), so mutateRecord never conflicts.
 * The optional last `unit` of each method makes the call part of a CommitUnit (sqliteStorageUnit).
 */
export class SqliteLedger implements Ledger {
  readonly #db: DatabaseSync
  readonly #group: CommitGroup
  readonly #now: () => Date
  readonly #sql: Record<
    'getRecord' | 'putRecord' | 'getRequest' | 'putRequest' | 'getDelivery' | 'putDelivery' | 'putAgent' | 'listAgents',
    StatementSync
  >

  constructor({ db, now = () => new Date() }: { db: DatabaseSync; now?: () => Date }) {
    this.#db = db
    this.#group = commitGroupOf(db)
    this.#now = now
    this.#sql = {
      getRecord: db.prepare('SELECT data, rev, expires_at FROM ledger_records WHERE record_key = ?'),
      putRecord: db.prepare(
        `INSERT INTO ledger_records (record_key, data, rev, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (record_key) DO UPDATE SET data = excluded.data, rev = excluded.rev, expires_at = excluded.expires_at`,
      ),
      getRequest: db.prepare('SELECT data, rev, expires_at FROM ledger_requests WHERE id = ?'),
      putRequest: db.prepare(
        `INSERT INTO ledger_requests (id, state, updated_at, source, record_id, data, rev, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, source = excluded.source,
           record_id = excluded.record_id, data = excluded.data, rev = excluded.rev, expires_at = excluded.expires_at`,
      ),
      getDelivery: db.prepare('SELECT expires_at FROM ledger_deliveries WHERE source = ? AND delivery_id = ?'),
      putDelivery: db.prepare(
        `INSERT INTO ledger_deliveries (source, delivery_id, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (source, delivery_id) DO UPDATE SET expires_at = excluded.expires_at`,
      ),
      putAgent: db.prepare(
        'INSERT INTO ledger_agents (agent_id, data) VALUES (?, ?) ON CONFLICT (agent_id) DO UPDATE SET data = excluded.data',
      ),
      listAgents: db.prepare('SELECT data FROM ledger_agents ORDER BY agent_id'),
    }
  }

  async mutateRecord<T>(
    recordKey: string,
    requestIds: readonly string[],
    decide: (snapshot: RecordSnapshot) => RecordMutation<T>,
    unit?: CommitUnit,
  ): Promise<T> {
    return this.#group.write('ledger write', () => {
      const now = this.#now()
      const recordRow = this.#sql.getRecord.get(recordKey) as StoredRow | undefined
      const record = this.#live<RecordState>(recordRow, now)
      const requests = new Map<string, RelayRequest>()
      for (const id of new Set([...requestIds, ...[record?.requestId, record?.nextRequestId].filter((id) => id !== undefined)])) {
        const request = this.#live<RelayRequest>(this.#sql.getRequest.get(id) as StoredRow | undefined, now)
        if (request !== undefined) requests.set(id, request)
      }
      const mutation = decide({ record, requests })
      if (mutation.record !== undefined) {
        const stored = { ...mutation.record, rev: (recordRow?.rev ?? 0) + 1 }
        this.#sql.putRecord.run(recordKey, JSON.stringify(stored), stored.rev, stored.expiresAt ?? null)
      }
      for (const request of mutation.requests ?? []) {
        const current = this.#sql.getRequest.get(request.id) as StoredRow | undefined
        const stored = { ...request, rev: (current?.rev ?? 0) + 1 }
        const { id, state, updatedAt, source, recordId, rev, expiresAt } = stored
        this.#sql.putRequest.run(id, state, updatedAt, source, recordId, JSON.stringify(stored), rev, expiresAt ?? null)
      }
      return mutation.result
    }, unit)
  }

  async markSent(requestId: string, sentAt: string, unit?: CommitUnit): Promise<boolean> {
    return this.#group.write('ledger write', () => {
      const row = this.#sql.getRequest.get(requestId) as StoredRow | undefined
      const request = this.#live<RelayRequest>(row, this.#now())
      if (!row || !request || request.state !== 'queued' || request.sentAt) return false
      const stored = { ...request, sentAt, rev: row.rev + 1 }
      this.#sql.putRequest.run(stored.id, stored.state, stored.updatedAt, stored.source, stored.recordId, JSON.stringify(stored), stored.rev, stored.expiresAt ?? null)
      return true
    }, unit)
  }

  async getRequest(id: string, unit?: CommitUnit): Promise<RelayRequest | undefined> {
    return this.#group.read('ledger read', () => this.#live(this.#sql.getRequest.get(id) as StoredRow | undefined, this.#now()), unit)
  }

  async getRecord(recordKey: string, unit?: CommitUnit): Promise<RecordState | undefined> {
    return this.#group.read('ledger read', () => this.#live(this.#sql.getRecord.get(recordKey) as StoredRow | undefined, this.#now()), unit)
  }

  async listRequests(query: RequestQuery): Promise<RequestPage> {
    const { state, source, recordId, since, until, limit, cursor } = normalizeRequestQuery(query)
    const conditions = ['(expires_at IS NULL OR expires_at > ?)']
    const params: SQLInputValue[] = [epochSeconds(this.#now())]
    const where = (condition: string, ...values: SQLInputValue[]): void => {
      conditions.push(condition)
      params.push(...values)
    }
    if (state !== undefined) where('state = ?', state)
    if (source !== undefined) where('source = ?', source)
    if (recordId !== undefined) where('record_id = ?', recordId)
    if (since !== undefined) where('updated_at >= ?', since)
    if (until !== undefined) where('updated_at < ?', until)
    if (cursor !== undefined) {
      const [updatedAt, id] = decodeCursor(cursor, isListCursor)
      where('(updated_at < ? OR (updated_at = ? AND id < ?))', updatedAt, updatedAt, id)
    }
    const sql = `SELECT data FROM ledger_requests WHERE ${conditions.join(' AND ')} ORDER BY updated_at DESC, id DESC LIMIT ?`
    const rows = (await this.#group.read('ledger list', () => this.#db.prepare(sql).all(...params, limit + 1))) as unknown as { data: string }[]
    const items = rows.slice(0, limit).map((row) => JSON.parse(row.data) as RelayRequest)
    const last = items.at(-1)
    return rows.length > limit && last !== undefined ? { items, cursor: encodeCursor([last.updatedAt, last.id]) } : { items }
  }

  async hasDelivery(source: string, deliveryId: string, unit?: CommitUnit): Promise<boolean> {
    const row = (await this.#group.read('ledger read', () => this.#sql.getDelivery.get(source, deliveryId), unit)) as { expires_at: number } | undefined
    return row !== undefined && !isExpired(row.expires_at, this.#now())
  }

  async rememberDelivery(source: string, deliveryId: string, ttlSeconds: number, unit?: CommitUnit): Promise<void> {
    const expiresAt = expiresAtAfter(this.#now(), ttlSeconds)
    await this.#group.write('ledger write', () => this.#sql.putDelivery.run(source, deliveryId, expiresAt), unit)
  }

  async recordHeartbeat(status: AgentStatus): Promise<void> {
    await this.#group.write('ledger write', () => this.#sql.putAgent.run(status.agentId, JSON.stringify(status)))
  }

  async listAgents(): Promise<AgentStatus[]> {
    const rows = (await this.#group.read('ledger read', () => this.#sql.listAgents.all())) as unknown as { data: string }[]
    return rows.map((row) => JSON.parse(row.data) as AgentStatus)
  }

  /** Deletes rows past their `expiresAt` (reads already ignore them); returns how many went. */
  sweepExpired(): number {
    const now = epochSeconds(this.#now())
    return withSqlite('ledger sweep', () =>
      immediateTransaction(this.#db, () =>
        ['ledger_records', 'ledger_requests', 'ledger_deliveries']
          .map((table) => Number(this.#db.prepare(`DELETE FROM ${table} WHERE expires_at <= ?`).run(now).changes))
          .reduce((sum, changes) => sum + changes, 0),
      ),
    )
  }

  #live<T>(row: StoredRow | undefined, now: Date): T | undefined {
    return row === undefined || isExpired(row.expires_at, now) ? undefined : (JSON.parse(row.data) as T)
  }
}

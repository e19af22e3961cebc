import { classifyMysqlError, classifyPostgresError } from '../../sinks/sql/sql-errors.ts'
import { permanentError, retryableError, type AgentError } from '../../errors.ts'
import type { SqlListConfig } from '../../sync/sync-config.ts'
import { withRetries } from '../../sync/retry.ts'
import type { ListConnector, ListedRecord, ListQuery } from './list-connector.ts'

const CURSOR_COLUMN = 'hookferry_cursor'
const KEY_COLUMN = 'hookferry_key'
/** Connection and query attempts per page before the run is retried later by the cloud. */
const ATTEMPTS = 5

interface SqlSession {
  query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>
  close(): Promise<void>
}

/** What differs between PostgreSQL and MySQL/MariaDB. */
interface Dialect {
  connect(url: string): Promise<SqlSession>
  quote(name: string): string
  param(index: number): string
  asText(expression: string): string
  /** `(cursor, key) > (a, b)`, written so the (cursor, key) index serves it. */
  after(cursor: string, key: string, next: () => string): { sql: string; values: (a: unknown, b: unknown) => unknown[] }
  /** The ISO `until` as this database compares it with the cursor column. */
  until(iso: string): unknown
  retryable(error: unknown): boolean
}

const postgres: Dialect = {
  async connect(url) {
    // Loaded on first use: an agent without database lists does not carry the drivers.
    const { default: pg } = await import('pg')
    const client = new pg.Client({ connectionString: url })
    client.on('error', () => {}) // a dropped connection fails the next query, which is retried
    await client.connect()
    return { query: async (sql, params) => (await client.query(sql, params)).rows as Record<string, unknown>[], close: () => client.end() }
  },
  quote: (name) => name.split('.').map((part) => `"${part}"`).join('.'),
  param: (index) => `$${index}`,
  asText: (expression) => `(${expression})::text`,
  after: (cursor, key, next) => ({ sql: `(${cursor}, ${key}) > (${next()}, ${next()})`, values: (a, b) => [a, b] }),
  until: (iso) => iso,
  // The sinks' classification: connection trouble, deadlocks, serialization, resources, shutdown.
  retryable: (error) => classifyPostgresError(error) === 'transient',
}

const mysqlDialect: Dialect = {
  async connect(url) {
    const { default: mysql } = await import('mysql2/promise')
    const connection = await mysql.createConnection({ uri: url, timezone: 'Z', dateStrings: false, supportBigNumbers: true, bigNumberStrings: true })
    connection.on('error', () => {})
    await connection.query("SET time_zone = '+00:00'")
    return { query: async (sql, params) => (await connection.query(sql, params))[0] as Record<string, unknown>[], close: () => connection.end() }
  },
  quote: (name) => name.split('.').map((part) => `\`${part}\``).join('.'),
  param: () => '?',
  asText: (expression) => `CAST(${expression} AS CHAR)`,
  // MySQL does not use an index for row-value comparisons; the expanded form it does.
  after: (cursor, key, next) => ({ sql: `(${cursor} > ${next()} OR (${cursor} = ${next()} AND ${key} > ${next()}))`, values: (a, b) => [a, a, b] }),
  until: (iso) => mysqlUtc(iso),
  retryable: (error) => classifyMysqlError(error) === 'transient',
}

/**
 * Reads a table, view or query of PostgreSQL or MySQL/MariaDB in `(cursor, key)` keyset order:
 * `WHERE (cursor, key) > (last) AND cursor <= until ORDER BY cursor, key LIMIT pageSize`, one
 * page at a time on one connection per run, so memory holds one page whatever the table's size.
 * Cursor and key travel as the database's own text (microseconds intact), so ties and the
 * boundary compare exactly as the database orders them.
 */
export function createSqlList(config: SqlListConfig, deps: { key: string; retryBaseDelaySeconds?: number }): ListConnector {
  const dialect = config.type === 'postgres' ? postgres : mysqlDialect
  const from = config.table ? `${dialect.quote(config.table)} AS hookferry_list` : `(${config.query}) AS hookferry_list`
  const cursor = `hookferry_list.${dialect.quote(config.cursor)}`
  const key = `hookferry_list.${dialect.quote(config.key)}`
  const select = `SELECT hookferry_list.*, ${dialect.asText(cursor)} AS ${CURSOR_COLUMN}, ${dialect.asText(key)} AS ${KEY_COLUMN} FROM ${from}`

  const pageQuery = (after: { cursor: unknown; key: unknown } | undefined, until: string | undefined): [string, unknown[]] => {
    let index = 0
    const next = () => dialect.param((index += 1))
    const where: string[] = []
    const params: unknown[] = []
    if (after && after.key === '') {
      // A watermark set by hand to a cursor alone (`sync reset --to 2026-02-01`): every record at that cursor again.
      where.push(`${cursor} >= ${next()}`)
      params.push(after.cursor)
    } else if (after) {
      const condition = dialect.after(cursor, key, next)
      where.push(condition.sql)
      params.push(...condition.values(after.cursor, after.key))
    }
    if (until !== undefined && config.cursorType === 'time') {
      where.push(`${cursor} <= ${next()}`)
      params.push(dialect.until(until))
    }
    return [`${select}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${cursor}, ${key} LIMIT ${config.pageSize}`, params]
  }

  const idsQuery = (ids: readonly string[]): [string, unknown[]] => {
    let index = 0
    return [`${select} WHERE ${key} IN (${ids.map(() => dialect.param((index += 1))).join(', ')}) ORDER BY ${cursor}, ${key}`, [...ids]]
  }

  return {
    order: 'cursor-key',
    cursorType: config.cursorType,
    async *pages(query: ListQuery, signal?: AbortSignal) {
      let session: SqlSession | undefined
      const run = (sql: string, params: unknown[]) =>
        withRetries(
          async () => {
            try {
              session ??= await dialect.connect(config.url)
              return await session.query(sql, params)
            } catch (error) {
              const failure = sqlFailure(error, dialect, `${deps.key}: ${config.type} ${config.table ?? 'query'}`)
              if (failure.retryable) {
                void session?.close().catch(() => undefined)
                session = undefined
              }
              throw failure
            }
          },
          { attempts: ATTEMPTS, signal, ...(deps.retryBaseDelaySeconds === undefined ? {} : { baseDelaySeconds: deps.retryBaseDelaySeconds }) },
        )
      try {
        if (query.ids !== undefined) {
          for (let start = 0; start < query.ids.length; start += config.pageSize) yield (await run(...idsQuery(query.ids.slice(start, start + config.pageSize)))).map(recordOfRow)
          return
        }
        let after: { cursor: unknown; key: unknown } | undefined = query.after
        for (;;) {
          const rows = await run(...pageQuery(after, query.until))
          const records = rows.map(recordOfRow)
          yield records
          if (rows.length < config.pageSize) return
          const last = rows.at(-1)!
          after = { cursor: last[CURSOR_COLUMN], key: last[KEY_COLUMN] }
        }
      } finally {
        await session?.close().catch(() => undefined)
      }
    },
  }
}

/** A row as a listed record: cursor and key as text, the row's values as plain JSON. */
function recordOfRow(row: Record<string, unknown>): ListedRecord {
  const record: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(row)) {
    if (name === CURSOR_COLUMN || name === KEY_COLUMN) continue
    record[name] = value instanceof Date ? value.toISOString() : Buffer.isBuffer(value) ? value.toString('base64') : typeof value === 'bigint' ? value.toString() : value
  }
  return { id: String(row[KEY_COLUMN]), cursor: String(row[CURSOR_COLUMN]), op: 'upsert', record }
}

function sqlFailure(error: unknown, dialect: Dialect, what: string): AgentError {
  const message = `${what}: ${(error as Error)?.message ?? String(error)}`
  return dialect.retryable(error) ? retryableError('agent.list_failed', message, { cause: error }) : permanentError('agent.list_failed', message, { cause: error })
}

/** ISO time as MySQL's UTC DATETIME text, sub-millisecond digits kept (a Date would drop them). */
function mysqlUtc(iso: string): string {
  const utc = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)(?:Z|[+-]00:?00)$/i.exec(iso)
  return utc ? `${utc[1]} ${utc[2]}` : new Date(iso).toISOString().replace('T', ' ').replace('Z', '')
}

import mysql from 'mysql2/promise'
import type * as z from 'zod/mini'
import { underParameterLimit } from './chunk-planner.ts'
import type { ColumnInfo, ColumnKind } from './column-value.ts'
import { tlsOptionsOf, type mysqlDeliverSchema } from './sql-config.ts'
import { Params, type SqlConnection, type SqlDriver, type UpsertRows, type Written } from './sql-driver.ts'
import { classifyMysqlError } from './sql-errors.ts'
import { createSqlSink, type SqlSink } from './sql-sink.ts'

type MysqlDeliverConfig = z.infer<typeof mysqlDeliverSchema>

/** Prepared statements count placeholders in 16 bits; client-side formatting keeps the same bound so packets stay small. */
const MAX_PARAMETERS = 65_535
const CONNECT_TIMEOUT_IN_MS = 10_000

/** Delivers into a MySQL 8 or MariaDB 10.6+ table with `INSERT … ON DUPLICATE KEY UPDATE` (see sql-sink.ts). */
export function createMysqlSink(config: MysqlDeliverConfig, key: string): Promise<SqlSink> {
  return createSqlSink(mysqlDriver(config), config, key, (table) =>
    `CREATE TABLE IF NOT EXISTS ${table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, run_id VARCHAR(255), source VARCHAR(255) NOT NULL, table_name VARCHAR(255) NOT NULL, record_key VARCHAR(255) NOT NULL, payload JSON, error TEXT NOT NULL, created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY (run_id))`,
  )
}

export const quoteMysql = (name: string): string => name.split('.').map((part) => `\`${part.replaceAll('`', '``')}\``).join('.')

/** How the server spells "the value this row would have inserted" in ON DUPLICATE KEY UPDATE. */
export interface MysqlServer {
  version: string
  /** MySQL ≥ 8.0.20 deprecates `VALUES(col)` there for a row alias (`AS new`); MariaDB only knows `VALUES(col)`. */
  rowAlias: boolean
}

/** MariaDB, or MySQL before 8.0.20: VALUES(); MySQL 8.0.20 and later: the row alias. */
export function mysqlServerOf(version: string): MysqlServer {
  if (/mariadb/i.test(version)) return { version, rowAlias: false }
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map(Number)
  return { version, rowAlias: major > 8 || (major === 8 && (minor > 0 || patch >= 20)) }
}

/** mysql2: a pool (UTC, big numbers as strings), client-side formatted multi-row statements. */
export function mysqlDriver(config: Pick<MysqlDeliverConfig, 'url' | 'poolSize' | 'statementTimeoutMs' | 'tls'>): SqlDriver {
  const pool = mysql.createPool({
    uri: config.url,
    connectionLimit: config.poolSize,
    connectTimeout: CONNECT_TIMEOUT_IN_MS,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    ...(config.tls ? { ssl: tlsOptionsOf(config.tls) } : {}),
  })
  const seconds = Math.max(1, Math.ceil(config.statementTimeoutMs / 1000))
  pool.on('connection', (connection) => {
    // Each server knows one of the statement time limits; the other SET fails harmlessly.
    const core = connection as unknown as { query(sql: string, callback: () => void): void }
    core.query(`SET SESSION innodb_lock_wait_timeout = ${seconds}`, () => undefined)
    core.query(`SET SESSION max_statement_time = ${config.statementTimeoutMs / 1000}`, () => undefined)
    core.query(`SET SESSION max_execution_time = ${config.statementTimeoutMs}`, () => undefined)
  })
  const query = async (client: mysql.Pool | mysql.PoolConnection, sql: string, params: readonly unknown[]) => {
    const [rows] = await client.query(sql, params as unknown[])
    return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []
  }
  let server: Promise<MysqlServer> | undefined
  const serverInfo = () => (server ??= query(pool, 'SELECT VERSION() AS v', []).then(([row]) => mysqlServerOf(String(row?.v)), (error: unknown) => {
    server = undefined
    throw error
  }))

  const driver: SqlDriver = {
    name: 'mysql',
    maxParameters: MAX_PARAMETERS,
    dates: 'date',
    placeholder: () => '?',
    quote: quoteMysql,
    now: 'CURRENT_TIMESTAMP(6)',
    query: (sql, params) => query(pool, sql, params),
    async describeTable(table) {
      const { version } = await serverInfo()
      const [schema, name] = table.includes('.') ? table.split('.') : [null, table]
      const where = 'TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?'
      const tables = await query(pool, `SELECT TABLE_NAME FROM information_schema.TABLES WHERE ${where}`, [schema, name])
      if (tables.length === 0) return undefined
      const columns = await query(pool, `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, DATA_TYPE AS dataType FROM information_schema.COLUMNS WHERE ${where}`, [schema, name])
      const unique = await query(pool, `SELECT INDEX_NAME AS indexName, COLUMN_NAME AS name FROM information_schema.STATISTICS WHERE ${where} AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX`, [schema, name])
      // MariaDB's JSON is LONGTEXT with a json_valid() check: find those columns.
      const checks = /mariadb/i.test(version) ? await query(pool, `SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?`, [schema, name]) : []
      const jsonColumns = new Set(checks.map((row) => /^json_valid\(`([^`]+)`\)$/i.exec(String(row.clause))?.[1]).filter((column) => column !== undefined))
      const keys = new Map<string, string[]>()
      for (const row of unique) keys.set(String(row.indexName), [...(keys.get(String(row.indexName)) ?? []), String(row.name)])
      return {
        columns: new Map(columns.map((row): [string, ColumnInfo] => [String(row.name), { name: String(row.name), type: String(row.type), kind: jsonColumns.has(String(row.name)) ? 'json' : kindOf(String(row.dataType)) }])),
        uniqueKeys: [...keys.values()],
      }
    },
    async transaction(work) {
      const connection = await pool.getConnection()
      try {
        await connection.beginTransaction()
        const result = await work({ query: (sql, params) => query(connection, sql, params) } satisfies SqlConnection)
        await connection.commit()
        connection.release()
        return result
      } catch (error) {
        // A broken (fatal) connection answers nothing more, not even ROLLBACK: the server rolls back.
        const rolledBack = (error as { fatal?: boolean }).fatal !== true && (await connection.rollback().then(() => true, () => false))
        if (rolledBack) connection.release()
        else connection.destroy()
        throw error
      }
    },
    upsert: async (connection, rows) => upsert(connection, rows, await serverInfo()),
    classify: classifyMysqlError,
    close: () => pool.end(),
  }
  return driver
}

/**
 * Parents with a version column first lock their existing rows and read which are newer (those
 * are stale: left out, reported `stale`); the upsert itself is guarded too, with the version
 * column assigned last (MySQL evaluates the assignments in order). Local keys are read back.
 */
async function upsert(connection: SqlConnection, { table, keyColumns, columns, rows, versionColumn, returning }: UpsertRows, server: MysqlServer): Promise<Written | undefined> {
  const quote = quoteMysql
  const keyIndex = columns.indexOf(keyColumns[0]!)
  const stale = new Set<string>()
  if (versionColumn) {
    const versionIndex = columns.indexOf(versionColumn)
    for (const slice of underParameterLimit(rows, 2, MAX_PARAMETERS)) {
      const params = new Params(() => '?')
      const incoming = slice.map((row, index) => (index === 0 ? `SELECT ${params.add(row[keyIndex])} AS k, ${params.add(row[versionIndex])} AS v` : `SELECT ${params.add(row[keyIndex])}, ${params.add(row[versionIndex])}`)).join(' UNION ALL ')
      const sql = `SELECT CAST(t.${quote(keyColumns[0]!)} AS CHAR) AS k FROM ${quote(table)} t JOIN (${incoming}) n ON t.${quote(keyColumns[0]!)} = n.k WHERE t.${quote(versionColumn)} > n.v FOR UPDATE`
      for (const row of await connection.query(sql, params.values)) stale.add(String(row.k))
    }
  }
  const fresh = stale.size === 0 ? rows : rows.filter((row) => !stale.has(String(row[keyIndex])))
  const inserted = (column: string) => (server.rowAlias ? `hookferry_new.${quote(column)}` : `VALUES(${quote(column)})`)
  const updated = columns.filter((column) => !keyColumns.includes(column) && column !== versionColumn)
  if (versionColumn) updated.push(versionColumn)
  const guard = versionColumn ? `${quote(versionColumn)} IS NULL OR ${inserted(versionColumn)} >= ${quote(versionColumn)}` : undefined
  const set = (updated.length > 0 ? updated : keyColumns).map((column) => `${quote(column)} = ${guard ? `IF(${guard}, ${inserted(column)}, ${quote(column)})` : inserted(column)}`).join(', ')
  for (const slice of underParameterLimit(fresh, columns.length, MAX_PARAMETERS)) {
    const params = new Params(() => '?')
    const values = slice.map((row) => params.list(row)).join(', ')
    await connection.query(`INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ${values}${server.rowAlias ? ' AS hookferry_new' : ''} ON DUPLICATE KEY UPDATE ${set}`, params.values)
  }
  if (!returning) return undefined
  const written: Written = new Map()
  if (!returning.localKey) {
    for (const row of fresh) written.set(String(row[keyIndex]), undefined)
    return written
  }
  for (const slice of underParameterLimit(fresh, 1, MAX_PARAMETERS)) {
    const params = new Params(() => '?')
    const sql = `SELECT CAST(${quote(keyColumns[0]!)} AS CHAR) AS hookferry_key, ${quote(returning.localKey)} AS hookferry_local_key FROM ${quote(table)} WHERE ${quote(keyColumns[0]!)} IN ${params.list(slice.map((row) => row[keyIndex]))}`
    for (const row of await connection.query(sql, params.values)) written.set(String(row.hookferry_key), row.hookferry_local_key)
  }
  return written
}

function kindOf(dataType: string): ColumnKind {
  const type = dataType.toLowerCase()
  if (['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year'].includes(type)) return 'integer'
  if (['decimal', 'numeric', 'float', 'double', 'real'].includes(type)) return 'number'
  if (type === 'json') return 'json'
  if (type === 'datetime' || type === 'timestamp') return 'timestamp'
  if (type === 'date') return 'date'
  if (/char|text|enum|set/.test(type)) return 'text'
  return 'other'
}


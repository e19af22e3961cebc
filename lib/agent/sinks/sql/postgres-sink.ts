import pg from 'pg'
import type { ColumnInfo, ColumnKind } from './column-value.ts'
import { underParameterLimit } from './chunk-planner.ts'
import { tlsOptionsOf, type postgresDeliverSchema } from './sql-config.ts'
import { Params, type SqlConnection, type SqlDriver, type TableShape, type Written } from './sql-driver.ts'
import { COPY_FROM_ROWS, copyIn, copyText, stagingTable } from './postgres-copy.ts'
import { classifyPostgresError } from './sql-errors.ts'
import { createSqlSink, type SqlSink } from './sql-sink.ts'
import type * as z from 'zod/mini'

type PostgresDeliverConfig = z.infer<typeof postgresDeliverSchema>

/** The protocol counts a statement's parameters in 16 bits. */
const MAX_PARAMETERS = 65_535
const CONNECT_TIMEOUT_IN_MS = 10_000
/** Rows per unnest statement: bounds the size of one message, not a parameter count. */
const MAX_ROWS_PER_ARRAY_STATEMENT = 10_000

/** Delivers into a PostgreSQL table with `INSERT … ON CONFLICT (key) DO UPDATE` (see sql-sink.ts). */
export function createPostgresSink(config: PostgresDeliverConfig, key: string): Promise<SqlSink> {
  return createSqlSink(postgresDriver(config), config, key, (table) =>
    `CREATE TABLE IF NOT EXISTS ${table} (id bigserial PRIMARY KEY, run_id text, source text NOT NULL, table_name text NOT NULL, record_key text NOT NULL, payload jsonb, error text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
  )
}

export const quotePostgres = (name: string): string => name.split('.').map((part) => `"${part.replaceAll('"', '""')}"`).join('.')

/** node-postgres (`pg`): a pool, one client per transaction, statement_timeout on every session. */
export function postgresDriver(config: Pick<PostgresDeliverConfig, 'url' | 'poolSize' | 'statementTimeoutMs' | 'tls'>): SqlDriver {
  const pool = new pg.Pool({
    // Parameters in the URL (application_name, sslmode, …) win over these.
    connectionString: config.url,
    max: config.poolSize,
    statement_timeout: config.statementTimeoutMs,
    connectionTimeoutMillis: CONNECT_TIMEOUT_IN_MS,
    application_name: 'hookferry',
    ...(config.tls ? { ssl: tlsOptionsOf(config.tls) } : {}),
  })
  // An idle client whose connection dies is dropped by the pool; without a listener it would crash the agent.
  pool.on('error', () => undefined)
  const query = async (client: pg.Pool | pg.PoolClient, sql: string, params: readonly unknown[]) => (await client.query({ text: sql, values: params as unknown[] })).rows as Record<string, unknown>[]

  /** The tables the startup check read: the upsert casts its array parameters to their column types. */
  const shapes = new Map<string, TableShape>()
  const describe = async (table: string): Promise<TableShape | undefined> => {
    const [found] = await query(pool, 'SELECT to_regclass($1)::oid AS oid', [quotePostgres(table)])
    if (!found?.oid) return undefined
    const columns = await query(pool, 'SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname, t.typcategory FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped', [found.oid])
    const unique = await query(pool, 'SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL GROUP BY i.indexrelid', [found.oid])
    return {
      columns: new Map(columns.map((row): [string, ColumnInfo] => [String(row.name), { name: String(row.name), type: String(row.type), kind: kindOf(String(row.typname), String(row.typcategory)) }])),
      uniqueKeys: unique.map((row) => row.columns as string[]),
    }
  }

  return {
    name: 'postgres',
    maxParameters: MAX_PARAMETERS,
    dates: 'iso',
    placeholder: (index) => `$${index}`,
    quote: quotePostgres,
    now: 'now()',
    query: (sql, params) => query(pool, sql, params),
    async describeTable(table) {
      const shape = await describe(table)
      if (shape) shapes.set(table, shape)
      return shape
    },
    async transaction(work) {
      const client = await pool.connect()
      // The query in flight rejects when the connection dies; the client's own 'error' event must not crash the agent.
      const ignore = () => undefined
      client.on('error', ignore)
      try {
        await client.query('BEGIN')
        const result = await work({ query: (sql, params) => query(client, sql, params), copyIn: (sql, text) => copyIn(client, sql, text) } satisfies SqlConnection)
        await client.query('COMMIT')
        client.off('error', ignore)
        client.release()
        return result
      } catch (error) {
        // A client whose ROLLBACK fails is broken: destroy it rather than hand it out again.
        const rolledBack = await client.query('ROLLBACK').then(() => true, () => false)
        client.off('error', ignore)
        client.release(rolledBack ? undefined : true)
        throw error
      }
    },
    async upsert(connection, { table, keyColumns, columns, rows, versionColumn, returning }) {
      const quote = quotePostgres
      const updated = columns.filter((column) => !keyColumns.includes(column))
      const set = (updated.length > 0 ? updated : keyColumns).map((column) => `${quote(column)} = EXCLUDED.${quote(column)}`).join(', ')
      const guard = versionColumn ? ` WHERE t.${quote(versionColumn)} IS NULL OR t.${quote(versionColumn)} <= EXCLUDED.${quote(versionColumn)}` : ''
      const answer = returning ? ` RETURNING t.${quote(keyColumns[0]!)}::text AS hookferry_key${returning.localKey ? `, t.${quote(returning.localKey)} AS hookferry_local_key` : ''}` : ''
      const conflict = ` ON CONFLICT (${keyColumns.map(quote).join(', ')}) DO UPDATE SET ${set}${guard}${answer}`
      const types = columnTypes(shapes.get(table), columns)
      let written: Written | undefined
      const collect = (result: Record<string, unknown>[]) => {
        if (returning) for (const row of result) (written ??= new Map()).set(String(row.hookferry_key), row.hookferry_local_key)
      }
      if (types && connection.copyIn && rows.length >= COPY_FROM_ROWS) {
        const stage = stagingTable(table, columns, types, quote)
        await connection.query(stage.prepare, [])
        await connection.copyIn(`COPY ${stage.name} (${columns.map(quote).join(', ')}) FROM STDIN`, copyText(rows))
        collect(await connection.query(`INSERT INTO ${quote(table)} AS t (${columns.map(quote).join(', ')}) SELECT ${columns.map(quote).join(', ')} FROM ${stage.name}${conflict}`, []))
        return returning ? (written ?? new Map()) : undefined
      }
      const slices = types ? underParameterLimit(rows, 1, MAX_ROWS_PER_ARRAY_STATEMENT) : underParameterLimit(rows, columns.length, MAX_PARAMETERS)
      for (const slice of slices) {
        const params = new Params((index) => `$${index}`)
        // One array parameter per column (unnest): the statement stays tiny whatever the rows, so the
        // server parses and plans it at once; otherwise one placeholder per value, under the limit.
        const source = types
          ? `SELECT * FROM unnest(${columns.map((column, index) => `${params.add(slice.map((row) => row[index]))}::${types[index]}[]`).join(', ')})`
          : `VALUES ${slice.map((row) => params.list(row)).join(', ')}`
        const sql = `INSERT INTO ${quote(table)} AS t (${columns.map(quote).join(', ')}) ${source}${conflict}`
        collect(await connection.query(sql, params.values))
      }
      return returning ? (written ?? new Map()) : undefined
    },
    classify: classifyPostgresError,
    close: () => pool.end(),
  }
}

/** `text`, `integer`, … per column, when every column can travel as a one-dimensional array (array columns cannot: unnest would flatten them). */
function columnTypes(shape: TableShape | undefined, columns: readonly string[]): string[] | undefined {
  const infos = columns.map((column) => shape?.columns.get(column))
  if (infos.some((info) => info === undefined || info.kind === 'array')) return undefined
  return infos.map((info) => info!.type)
}

function kindOf(typname: string, category: string): ColumnKind {
  if (typname === 'json' || typname === 'jsonb') return 'json'
  if (['int2', 'int4', 'int8'].includes(typname)) return 'integer'
  if (typname === 'timestamp' || typname === 'timestamptz') return 'timestamp'
  if (typname === 'date') return 'date'
  const byCategory: Record<string, ColumnKind> = { N: 'number', B: 'boolean', S: 'text', A: 'array' }
  return byCategory[category] ?? 'other'
}


import { randomUUID } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { parseWithSchema } from '../../lib/config/zod.ts'
import type { Delivery } from '../../lib/agent/sinks/sink.ts'
import { createMysqlSink } from '../../lib/agent/sinks/sql/mysql-sink.ts'
import { createPostgresSink } from '../../lib/agent/sinks/sql/postgres-sink.ts'
import { mysqlDeliverSchema, postgresDeliverSchema } from '../../lib/agent/sinks/sql/sql-config.ts'
import type { SqlSink } from '../../lib/agent/sinks/sql/sql-sink.ts'
import { createTestDatabase, databaseServer, type DatabaseKind, type TestDatabase } from '../support/databases.ts'
import { row, type Row } from './report.ts'
import { summarize } from './stats.ts'

/** Records per sample, delivered in chunks as a sync run hands them over. */
const RECORDS = 20_000
const CHUNK = 5_000
const SAMPLES = 3
const CHILDREN_PER_RECORD = 2
export const SQL_SINK_TARGETS: Record<DatabaseKind, number> = { postgres: 50_000, mysql: 20_000 }
const COLUMNS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'] as const

const DDL: Record<DatabaseKind, (table: (name: string) => string, name: string) => string[]> = {
  postgres: (table, name) => [
    `CREATE TABLE ${table(name)} (id serial PRIMARY KEY, k text NOT NULL UNIQUE, c1 text, c2 text, c3 integer, c4 integer, c5 numeric, c6 boolean, c7 timestamptz, c8 jsonb, c9 text)`,
    `CREATE TABLE ${table(`${name}_items`)} (id serial PRIMARY KEY, item_id text NOT NULL UNIQUE, parent_k text NOT NULL, sku text, qty integer)`,
  ],
  mysql: (table, name) => [
    `CREATE TABLE ${table(name)} (id INT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(64) NOT NULL UNIQUE, c1 VARCHAR(255), c2 VARCHAR(255), c3 INT, c4 INT, c5 DECIMAL(14, 2), c6 BOOLEAN, c7 DATETIME(6), c8 JSON, c9 TEXT)`,
    `CREATE TABLE ${table(`${name}_items`)} (id INT AUTO_INCREMENT PRIMARY KEY, item_id VARCHAR(64) NOT NULL UNIQUE, parent_k VARCHAR(64) NOT NULL, sku VARCHAR(64), qty INT, KEY (parent_k))`,
  ],
}

const recordOf = (index: number, sample: string) => ({
  c1: `customer ${index}`, c2: `customer${index}@example.com`, c3: index, c4: index % 97, c5: (index % 1000) / 4, c6: index % 2 === 0, c7: '2024-05-01T10:00:00Z', c8: { plan: 'pro', seats: index % 10 }, c9: 'note',
  items: Array.from({ length: CHILDREN_PER_RECORD }, (_, child) => ({ id: `${sample}-${index}-${child}`, sku: `sku-${child}`, qty: child + 1 })),
})

const deliveriesOf = (sample: string): Delivery[] =>
  Array.from({ length: RECORDS }, (_, index) => ({ op: 'upsert', source: 'bench', recordId: `${sample}-${String(index).padStart(6, '0')}`, requestId: `r${index}`, idempotencyKey: `i${index}`, runId: sample, record: recordOf(index, sample) }))

async function openSink(kind: DatabaseKind, url: string, db: TestDatabase, table: string, children: boolean): Promise<SqlSink> {
  const config = {
    type: kind, url, table: db.table(table), key: 'k', columns: Object.fromEntries(COLUMNS.map((column) => [column, column])),
    children: children ? [{ table: db.table(`${table}_items`), rows: 'items', key: 'item_id', parentKey: 'parent_k', columns: { item_id: 'id', sku: 'sku', qty: 'qty' } }] : [],
  }
  if (kind === 'postgres') return createPostgresSink(parseWithSchema(postgresDeliverSchema, config, 'bench'), 'bench')
  return createMysqlSink(parseWithSchema(mysqlDeliverSchema, config, 'bench'), 'bench')
}

/** Rows/s of the sink's batch path: RECORDS deliveries in chunks of CHUNK, each chunk one deliverBatch. */
async function sinkRate(sink: SqlSink, sample: string): Promise<number> {
  const deliveries = deliveriesOf(sample)
  const started = performance.now()
  for (let start = 0; start < deliveries.length; start += CHUNK) {
    const outcomes = await sink.deliverBatch(deliveries.slice(start, start + CHUNK))
    const failed = outcomes.find((outcome) => !outcome.ok)
    if (failed && !failed.ok) throw new Error(`bench chunk refused: ${failed.error.message}`)
  }
  return (RECORDS * 1000) / (performance.now() - started)
}

const copyText = (value: unknown) => (value === null ? '\\N' : String(value).replace(/[\\\t\n\r]/g, (char) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[char]!))

/** The PostgreSQL floor: a plain COPY of the same rows (pg-copy-streams), no upsert, no transaction of ours. */
async function copyRate(url: string, db: TestDatabase, table: string, sample: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const lines = deliveriesOf(sample).map((delivery) => {
      const record = delivery.record as ReturnType<typeof recordOf>
      return `${[delivery.recordId, ...COLUMNS.map((column) => (column === 'c8' ? JSON.stringify(record.c8) : record[column]))].map(copyText).join('\t')}\n`
    })
    const started = performance.now()
    await pipeline(Readable.from(lines), client.query(copyFrom(`COPY ${db.table(table)} (k, ${COLUMNS.join(', ')}) FROM STDIN`)))
    return (RECORDS * 1000) / (performance.now() - started)
  } finally {
    await client.end()
  }
}

/** The MariaDB/MySQL floor: ONE multi-row INSERT of the same rows (mysql2, client-side formatted). */
async function multiRowInsertRate(url: string, db: TestDatabase, table: string, sample: string): Promise<number> {
  const connection = await mysql.createConnection({ uri: url, timezone: 'Z' })
  try {
    const rows = deliveriesOf(sample).map((delivery) => {
      const record = delivery.record as ReturnType<typeof recordOf>
      return [delivery.recordId, ...COLUMNS.map((column) => (column === 'c8' ? JSON.stringify(record.c8) : column === 'c7' ? new Date(record.c7) : record[column]))]
    })
    const started = performance.now()
    await connection.query(`INSERT INTO ${db.table(table)} (k, ${COLUMNS.join(', ')}) VALUES ?`, [rows])
    return (RECORDS * 1000) / (performance.now() - started)
  } finally {
    await connection.end()
  }
}

/**
 * Block: rows/s into PostgreSQL and MariaDB/MySQL through the sink's batch path (10-column rows,
 * new keys, chunks of 5,000; with and without 2 children per row), against a floor measured in
 * the same run on the same server: a plain COPY (PostgreSQL) or one multi-row INSERT (MySQL).
 */
export async function benchSqlSinks(progress: (line: string) => void): Promise<{ rows: Row[]; failures: string[] }> {
  const rows: Row[] = []
  const failures: string[] = []
  for (const kind of ['postgres', 'mysql'] as const) {
    const server = await databaseServer(kind).catch((error: unknown) => ({ kind, url: '', skip: (error as Error).message }))
    if (server.skip) {
      failures.push(`database sink block not run for ${kind}: ${server.skip}`)
      continue
    }
    progress(`8 database sinks (${kind})`)
    const db = await createTestDatabase(server)
    try {
      for (const name of ['floor', 'plain', 'nested']) for (const statement of DDL[kind](db.table, name)) await db.query(statement)
      const floorRates: number[] = []
      const plainRates: number[] = []
      const nestedRates: number[] = []
      const plain = await openSink(kind, server.url, db, 'plain', false)
      const nested = await openSink(kind, server.url, db, 'nested', true)
      try {
        await sinkRate(plain, 'warmup') // JIT and the pool's connections
        for (let sample = 0; sample < SAMPLES; sample += 1) {
          const id = randomUUID().slice(0, 8)
          floorRates.push(kind === 'postgres' ? await copyRate(server.url, db, 'floor', id) : await multiRowInsertRate(server.url, db, 'floor', id))
          plainRates.push(await sinkRate(plain, id))
          nestedRates.push(await sinkRate(nested, id))
        }
      } finally {
        await Promise.all([plain.close(), nested.close()])
      }
      const floor = summarize(floorRates).median
      const target = SQL_SINK_TARGETS[kind]
      const name = kind === 'postgres' ? 'PostgreSQL' : 'MariaDB/MySQL'
      rows.push(row({ block: '8 database sinks', runtime: '-', figure: `${name}: floor, ${kind === 'postgres' ? 'plain COPY' : 'one multi-row INSERT'} of the same rows`, unit: 'rows/s' }, summarize(floorRates), { rate: true }))
      rows.push(row({ block: '8 database sinks', runtime: '-', figure: `${name}: deliverBatch, 10 columns (target ≥ ${target.toLocaleString('en-US')})`, unit: 'rows/s' }, summarize(plainRates), { rate: true, floor }))
      rows.push(row({ block: '8 database sinks', runtime: '-', figure: `${name}: deliverBatch, 10 columns + ${CHILDREN_PER_RECORD} children each (parents/s)`, unit: 'rows/s' }, summarize(nestedRates), { rate: true, floor }))
      const median = summarize(plainRates).median
      if (median < target) failures.push(`${name} sink: ${Math.round(median)} rows/s is under the target of ${target}`)
      if (median * 3 < floor) failures.push(`${name} sink: ${Math.round(median)} rows/s is more than 3× under its floor (${Math.round(floor)})`)
    } catch (error) {
      failures.push(`database sink block failed for ${kind}: ${(error as Error).message}`)
    } finally {
      await db.drop()
    }
  }
  return { rows, failures }
}

if (import.meta.main) {
  const { renderTable } = await import('./report.ts')
  const result = await benchSqlSinks((line) => console.error(`bench: ${line}`))
  console.log(renderTable(result.rows))
  for (const failure of result.failures) console.log(`FAILED: ${failure}`)
}

import { randomUUID } from 'node:crypto'
import { parseWithSchema } from '../../lib/config/zod.ts'
import type { Delivery } from '../../lib/agent/sinks/sink.ts'
import { createMysqlSink } from '../../lib/agent/sinks/sql/mysql-sink.ts'
import { createPostgresSink } from '../../lib/agent/sinks/sql/postgres-sink.ts'
import { mysqlDeliverSchema, postgresDeliverSchema } from '../../lib/agent/sinks/sql/sql-config.ts'
import type { SqlSink } from '../../lib/agent/sinks/sql/sql-sink.ts'
import { createTestDatabase, type DatabaseKind, type DatabaseServer, type TestDatabase } from '../support/databases.ts'

/** The tables of the contract suite, in each server's dialect: customers with addresses as children. */
const DDL: Record<DatabaseKind, (table: (name: string) => string) => string[]> = {
  postgres: (table) => [
    `CREATE TABLE ${table('customers')} (id serial PRIMARY KEY, stripe_id text NOT NULL UNIQUE, name text, email text, amount integer CHECK (amount >= 0), version integer, deleted_at timestamptz, run_id text, data jsonb, signed_up timestamptz, tags text[])`,
    `CREATE TABLE ${table('addresses')} (id serial PRIMARY KEY, address_id text NOT NULL UNIQUE, customer_stripe_id text NOT NULL REFERENCES ${table('customers')} (stripe_id), city text, deleted_at timestamptz)`,
    `CREATE TABLE ${table('wide')} (id serial PRIMARY KEY, k text NOT NULL UNIQUE, c1 text, c2 text, c3 integer, c4 integer, c5 numeric, c6 boolean, c7 timestamptz, c8 jsonb, c9 text)`,
  ],
  mysql: (table) => [
    `CREATE TABLE ${table('customers')} (id INT AUTO_INCREMENT PRIMARY KEY, stripe_id VARCHAR(64) NOT NULL UNIQUE, name VARCHAR(255), email VARCHAR(255), amount INT CHECK (amount >= 0), version INT, deleted_at DATETIME(6), run_id VARCHAR(64), data JSON, signed_up DATETIME(6), tags JSON)`,
    `CREATE TABLE ${table('addresses')} (id INT AUTO_INCREMENT PRIMARY KEY, address_id VARCHAR(64) NOT NULL UNIQUE, customer_stripe_id VARCHAR(64) NOT NULL, city VARCHAR(255), deleted_at DATETIME(6), FOREIGN KEY (customer_stripe_id) REFERENCES ${table('customers')} (stripe_id))`,
    `CREATE TABLE ${table('wide')} (id INT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(64) NOT NULL UNIQUE, c1 VARCHAR(255), c2 VARCHAR(255), c3 INT, c4 INT, c5 DECIMAL(12, 2), c6 BOOLEAN, c7 DATETIME(6), c8 JSON, c9 TEXT)`,
  ],
}

/** One database of the suite, with its tables and the sinks a test opened (closed after it). */
export interface SqlHarness {
  kind: DatabaseKind
  db: TestDatabase
  /** A sink on this database: the config is parsed by the real schema (defaults applied). */
  sink(config: Record<string, unknown>): Promise<SqlSink>
  /** The `customers` config most tests start from (name, email, amount, data, signed_up; local key `id`). */
  customers(overrides?: Record<string, unknown>): Record<string, unknown>
  /** Rows of a table ordered by `orderBy`. */
  rows(table: string, columns: string, orderBy: string): Promise<Record<string, unknown>[]>
  close(): Promise<void>
}

export async function createSqlHarness(server: DatabaseServer): Promise<SqlHarness> {
  const db = await createTestDatabase(server)
  for (const statement of DDL[server.kind](db.table)) await db.query(statement)
  const sinks: SqlSink[] = []
  const schema = server.kind === 'postgres' ? postgresDeliverSchema : mysqlDeliverSchema
  return {
    kind: server.kind,
    db,
    async sink(config) {
      const parsed = parseWithSchema(schema, { type: server.kind, url: server.url, ...config }, 'test deliver config')
      const sink = parsed.type === 'postgres' ? await createPostgresSink(parsed, 'sources.crm.deliver') : await createMysqlSink(parsed as Extract<typeof parsed, { type: 'mysql' }>, 'sources.crm.deliver')
      sinks.push(sink)
      return sink
    },
    customers: (overrides = {}) => ({
      table: db.table('customers'),
      key: 'stripe_id',
      columns: { name: 'name', email: 'email', amount: 'amount', data: 'data', signed_up: 'signedUp' },
      localKey: 'id',
      ...overrides,
    }),
    rows: (table, columns, orderBy) => db.query(`SELECT ${columns} FROM ${db.table(table)} ORDER BY ${orderBy}`),
    async close() {
      await Promise.all(sinks.map((sink) => sink.close().catch(() => undefined)))
      await db.drop()
    },
  }
}

/** An upsert of `recordId` carrying `record`, as the agent hands it over. */
export const upsert = (recordId: string, record: Record<string, unknown>, extra: Partial<Delivery> = {}): Delivery => ({
  op: 'upsert',
  source: 'crm',
  recordId,
  requestId: randomUUID(),
  idempotencyKey: randomUUID(),
  record,
  ...extra,
})

/** A delete of `recordId`. */
export const remove = (recordId: string): Delivery => ({ op: 'delete', source: 'crm', recordId, requestId: randomUUID(), idempotencyKey: randomUUID() })

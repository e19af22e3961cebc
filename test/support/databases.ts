import { randomUUID } from 'node:crypto'
import mysql from 'mysql2/promise'
import pg from 'pg'

/**
 * The real database servers the SQL sink tests run against, and a fresh schema (PostgreSQL) or
 * database (MySQL/MariaDB) per test, so files and tests run in parallel. Without a server the
 * tests are skipped with a line naming the variable to set; with HOOKFERRY_REQUIRE_DATABASES=1
 * (CI sets it in .ci/run) a missing server is a failure instead.
 */
export type DatabaseKind = 'postgres' | 'mysql'

export const DATABASE_URL_VARIABLES: Record<DatabaseKind, string> = { postgres: 'HOOKFERRY_TEST_POSTGRES_URL', mysql: 'HOOKFERRY_TEST_MYSQL_URL' }
const DEFAULT_URLS: Record<DatabaseKind, string> = { postgres: 'postgres://postgres@127.0.0.1:5432/test', mysql: 'mysql://root@127.0.0.1:3306/test' }
const PROBE_TIMEOUT_IN_MS = 3_000

/** A server to test against, or why there is none. */
export interface DatabaseServer {
  kind: DatabaseKind
  url: string
  /** Set when the server cannot be reached: the reason, naming the variable to set. */
  skip?: string
}

/** A session of its own (e.g. one that holds locks while the sink waits); `id` is its backend pid / connection id. */
export interface DatabaseSession {
  id: number
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>
  close(): Promise<void>
}

/** A fresh, empty schema of the test's own on a real server. */
export interface TestDatabase {
  kind: DatabaseKind
  /** The server URL (the sink connects here and names tables with the schema). */
  url: string
  schema: string
  /** `schema.name`. */
  table(name: string): string
  /** Runs SQL on a shared admin session (placeholders in the server's own style). */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>
  session(): Promise<DatabaseSession>
  /** The sessions (ids) whose running statement contains `text` and waits for a lock. */
  waitingOn(text: string): Promise<number[]>
  /** Kills a session's connection (pg_terminate_backend / KILL). */
  kill(id: number): Promise<void>
  drop(): Promise<void>
}

const urlOf = (kind: DatabaseKind) => process.env[DATABASE_URL_VARIABLES[kind]] || DEFAULT_URLS[kind]
const requireDatabases = () => process.env.HOOKFERRY_REQUIRE_DATABASES === '1'

async function openSession(kind: DatabaseKind, url: string): Promise<DatabaseSession> {
  if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_IN_MS })
    client.on('error', () => undefined)
    await client.connect()
    const [row] = (await client.query('SELECT pg_backend_pid() AS id')).rows as { id: number }[]
    return { id: row!.id, query: async (sql, params = []) => (await client.query(sql, params as unknown[])).rows, close: () => client.end().catch(() => undefined) }
  }
  const connection = await mysql.createConnection({ uri: url, connectTimeout: PROBE_TIMEOUT_IN_MS, timezone: 'Z', supportBigNumbers: true, bigNumberStrings: true })
  connection.on('error', () => undefined)
  return {
    id: connection.threadId,
    query: async (sql, params = []) => {
      const [rows] = await connection.query(sql, params as unknown[])
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []
    },
    close: async () => connection.destroy(),
  }
}

/** Both servers, probed once per file: unreachable ones carry a skip reason, or throw under HOOKFERRY_REQUIRE_DATABASES=1. */
export async function databaseServers(): Promise<DatabaseServer[]> {
  return Promise.all((['postgres', 'mysql'] as const).map((kind) => databaseServer(kind)))
}

/** One server, probed (see databaseServers). */
export async function databaseServer(kind: DatabaseKind): Promise<DatabaseServer> {
  const url = urlOf(kind)
  try {
    const session = await openSession(kind, url)
    await session.close()
    return { kind, url }
  } catch (error) {
    const reason = `no ${kind} server at ${url.replace(/\/\/[^@/]*@/, '//')} (${(error as Error).message || (error as { code?: string }).code}): set ${DATABASE_URL_VARIABLES[kind]} to run these tests`
    if (requireDatabases()) throw new Error(`${reason} (HOOKFERRY_REQUIRE_DATABASES=1 makes this a failure)`, { cause: error })
    console.warn(`skipping ${kind} tests: ${reason}`)
    return { kind, url, skip: reason }
  }
}

/** Creates a schema (PostgreSQL) or database (MySQL) named hf_<random> on the server. */
export async function createTestDatabase(server: DatabaseServer): Promise<TestDatabase> {
  const { kind, url } = server
  const schema = `hf_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const admin = await openSession(kind, url)
  await admin.query(kind === 'postgres' ? `CREATE SCHEMA ${schema}` : `CREATE DATABASE ${schema}`)
  const sessions: DatabaseSession[] = []
  return {
    kind,
    url,
    schema,
    table: (name) => `${schema}.${name}`,
    query: (sql, params) => admin.query(sql, params),
    async session() {
      const session = await openSession(kind, url)
      sessions.push(session)
      return session
    },
    async waitingOn(text) {
      const rows =
        kind === 'postgres'
          ? await admin.query("SELECT pid AS id FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid()", [`%${text}%`])
          : await admin.query("SELECT p.ID AS id FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.INFO LIKE ? AND p.ID <> CONNECTION_ID()", [`%${text}%`])
      return rows.map((row) => Number(row.id))
    },
    async kill(id) {
      await admin.query(kind === 'postgres' ? 'SELECT pg_terminate_backend($1)' : `KILL ${Number(id)}`, kind === 'postgres' ? [id] : [])
    },
    async drop() {
      // An open transaction of a failed test would hold locks that DROP waits for.
      await Promise.all(sessions.map((session) => session.close()))
      await admin.query(kind === 'postgres' ? `DROP SCHEMA ${schema} CASCADE` : `DROP DATABASE ${schema}`)
      await admin.close()
    },
  }
}

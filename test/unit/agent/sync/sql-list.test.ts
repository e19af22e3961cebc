import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ListQuery } from '../../../../lib/agent/connectors/list/list-connector.ts'
import { readAll } from './read-pages.ts'
import { createSqlList } from '../../../../lib/agent/connectors/list/sql-list.ts'
import { isAgentError } from '../../../../lib/agent/errors.ts'
import { listSchema, type SqlListConfig } from '../../../../lib/agent/sync/sync-config.ts'
import { createTestDatabase, databaseServers, type DatabaseServer, type TestDatabase } from '../../../support/databases.ts'

const servers = await databaseServers()
const TIES = 2500
const LATER = 100

/** 2,500 rows sharing one timestamp (to the microsecond), then 100 one microsecond apart. */
function rows(): { id: number; updatedAt: string }[] {
  return Array.from({ length: TIES + LATER }, (_, index) => ({
    // Inserted in an order unlike the key order, so the read cannot lean on insertion order.
    id: ((index * 7919) % (TIES + LATER)) + 1,
    updatedAt: index < TIES ? '2026-03-01 10:00:00.000001' : `2026-03-01 10:00:00.${String(index - TIES + 2).padStart(6, '0')}`,
  }))
}

async function seed(db: TestDatabase): Promise<string> {
  const table = db.table('customers')
  const timestamp = db.kind === 'postgres' ? 'timestamptz' : 'datetime(6)'
  await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, updated_at ${timestamp} NOT NULL, name varchar(100) NOT NULL)`)
  if (db.kind === 'postgres') await db.query("SET TIME ZONE 'UTC'")
  const all = rows()
  for (let start = 0; start < all.length; start += 500) {
    const slice = all.slice(start, start + 500)
    const placeholders = slice.map((_row, index) => (db.kind === 'postgres' ? `($${index * 3 + 1}, $${index * 3 + 2}::timestamptz, $${index * 3 + 3})` : '(?, ?, ?)')).join(', ')
    const values = slice.flatMap((row) => [row.id, db.kind === 'postgres' ? `${row.updatedAt}+00` : row.updatedAt, `customer ${row.id}`])
    await db.query(`INSERT INTO ${table} (id, updated_at, name) VALUES ${placeholders}`, values)
  }
  return table
}

const query = (overrides: Partial<ListQuery> = {}): ListQuery => ({ source: 'erp', job: 'customers', runId: 'run-1', ...overrides })

describe.each(servers)('$kind list connector', (server: DatabaseServer) => {
  let db: TestDatabase
  let table: string
  const list = (config: Record<string, unknown>) =>
    createSqlList(listSchema.parse({ type: server.kind, url: server.url, cursor: 'updated_at', key: 'id', pageSize: 1000, ...config }) as SqlListConfig, { key: 'sources.erp.list', retryBaseDelaySeconds: 0.01 })

  beforeAll(async () => {
    if (server.skip) return
    db = await createTestDatabase(server)
    table = await seed(db)
  })
  afterAll(async () => {
    await db?.drop()
  })

  it.skipIf(server.skip)('reads 2,500 rows sharing one timestamp across page boundaries exactly once, in (cursor, key) order', async () => {
    const { records, pages } = await readAll(list({ table }).pages(query()))
    const ids = records.map((record) => Number(record.id))
    expect(ids).toHaveLength(TIES + LATER)
    expect(new Set(ids).size).toBe(TIES + LATER)
    expect(ids.slice(0, TIES)).toEqual([...ids.slice(0, TIES)].sort((a, b) => a - b))
    expect(pages).toBe(3)
    expect(records[0]).toMatchObject({ op: 'upsert', record: { name: `customer ${records[0]!.id}` } })
    // The cursor is the database's own text, microseconds intact.
    expect(records[0]!.cursor).toMatch(/^2026-03-01 10:00:00\.000001/)
  })

  it.skipIf(server.skip)('resumes strictly after a watermark inside a group of ties, and never passes until', async () => {
    const { records: all } = await readAll(list({ table }).pages(query()))
    const middle = all[1234]!
    const until = '2026-03-01T10:00:00.000050Z'
    const { records } = await readAll(list({ table }).pages(query({ after: { cursor: middle.cursor, key: middle.id }, until })))
    const expected = all.slice(1235).filter((record) => record.cursor <= (server.kind === 'postgres' ? '2026-03-01 10:00:00.00005+00' : '2026-03-01 10:00:00.000050'))
    expect(records.map((record) => record.id)).toEqual(expected.map((record) => record.id))
    // The rest of the ties, and the later rows at .000002 to .000050.
    expect(records.length).toBe(TIES - 1235 + 49)
  })

  it.skipIf(server.skip)('reads every record at a hand-set cursor again when the watermark has no key (sync reset --to <cursor>)', async () => {
    const { records: all } = await readAll(list({ table }).pages(query()))
    const firstLater = all[TIES]!
    const { records } = await readAll(list({ table }).pages(query({ after: { cursor: firstLater.cursor, key: '' } })))
    expect(records.map((record) => record.id)).toEqual(all.slice(TIES).map((record) => record.id))
  })

  it.skipIf(server.skip)('reads a query the same way, and only the asked ids on a resend', async () => {
    const { records } = await readAll(list({ query: `SELECT id, updated_at, upper(name) AS name FROM ${table} WHERE id <= 10` }).pages(query()))
    expect(records).toHaveLength(10)
    expect(records[0]!.record).toMatchObject({ name: expect.stringMatching(/^CUSTOMER /) })
    const resend = await readAll(list({ table }).pages(query({ ids: ['5', '17', '99999'] })))
    expect(resend.records.map((record) => record.id).sort()).toEqual(['17', '5'])
  })

  it.skipIf(server.skip)('fails with a permanent error naming the list when the table does not exist', async () => {
    const error = await readAll(list({ table: `${db.schema}.nowhere` }).pages(query())).catch((caught: unknown) => caught)
    expect(isAgentError(error) && { code: error.code, retryable: error.retryable }).toEqual({ code: 'agent.list_failed', retryable: false })
    expect((error as Error).message).toMatch(/sources\.erp\.list/)
  })

  it.skipIf(server.skip)('retries a connection that fails, then gives up with a retryable error', async () => {
    const unreachable = server.kind === 'postgres' ? 'postgres://postgres@127.0.0.1:1/test' : 'mysql://root@127.0.0.1:1/test'
    const error = await readAll(list({ table, url: unreachable }).pages(query())).catch((caught: unknown) => caught)
    expect(isAgentError(error) && { code: error.code, retryable: error.retryable }).toEqual({ code: 'agent.list_failed', retryable: true })
  })
})

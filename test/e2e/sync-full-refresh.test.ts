import { describe, expect, it } from 'vitest'
import { createTestDatabase, databaseServer } from '../support/databases.ts'
import { listApiId, startFakeListApi } from '../support/fake-list-api.ts'
import { startRelay, webhookSource } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/**
 * A full-refresh job with soft deletes, real processes: serve schedules full runs every few
 * seconds, the agent reads the fake list API into a real PostgreSQL table. Rows the source no
 * longer has are soft-deleted only after a COMPLETE, error-free full run.
 */
const scope = useTestScope()
const server = await databaseServer('postgres')

describe('a full refresh with soft deletes', () => {
  it.skipIf(server.skip)('soft-deletes what a complete run did not see, and nothing after a failed run', { timeout: 90_000 }, async () => {
    const db = await createTestDatabase(server)
    scope.defer(() => db.drop())
    const table = db.table('customers')
    await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY, name text NOT NULL, run_id text, deleted_at timestamptz)`)
    const api = await startFakeListApi()
    scope.defer(() => api.close())
    api.put(...Array.from({ length: 120 }, (_, index) => ({ id: listApiId(index), updated_at: `2026-01-01T00:00:${String(index % 60).padStart(2, '0')}.000Z`, name: `customer ${index}` })))

    const relay = await startRelay(scope, { sources: { crm: webhookSource({ jobs: { refresh: { schedule: '*/2 * * * * *', mode: 'full', firstRun: 'immediately', lagSeconds: 0, maxAttempts: 100 } } }) } })
    const agent = await relay.startAgent({
      sources: {
        crm: {
          fetch: { type: 'http', url: `${api.url}/items/{id}` },
          list: { type: 'http', url: `${api.url}/items?style=offset&offset={offset}&limit={pageSize}`, items: 'data', pagination: { type: 'offset' }, pageSize: 50, attempts: 2 },
          sync: { chunkSize: 50, deletes: true, attempts: 2 },
          deliver: { type: 'postgres', url: server.url, table, key: 'id', columns: { name: 'name' }, runColumn: 'run_id', delete: 'soft', deletedAt: 'deleted_at' },
        },
      },
    })
    const live = async () => Number((await db.query(`SELECT count(*) AS n FROM ${table} WHERE deleted_at IS NULL`))[0]!.n)
    const softDeleted = async () => (await db.query(`SELECT id FROM ${table} WHERE deleted_at IS NOT NULL ORDER BY id`)).map((row) => row.id)
    await eventually('the first full run loaded every row', async () => (await live()) === 120, { timeoutMs: 30_000 })

    // Gone at the source, but the API fails mid-run: the incomplete runs delete nothing.
    api.remove(listApiId(7))
    api.remove(listApiId(99))
    api.onPage = (call) => {
      if (call % 3 === 1) api.script({ status: 500 }, { status: 500 })
    }
    const runsBefore = agent.logsWith('sync run interrupted').length
    await eventually('two interrupted runs', () => agent.logsWith('sync run interrupted').length >= runsBefore + 2, { timeoutMs: 30_000 })
    expect(await softDeleted()).toEqual([])

    api.onPage = () => {}
    await eventually('a complete run soft-deleted the two', async () => (await softDeleted()).length === 2, { timeoutMs: 30_000 })
    expect(await softDeleted()).toEqual([listApiId(7), listApiId(99)])
    expect(await live()).toBe(118)
    const deleting = agent.logsWith('sync run: deleted what the full run did not see').find((line) => line.deleted === 2)
    expect(deleting).toBeDefined()
  })
})

import { describe, expect, it } from 'vitest'
import { createTestDatabase, databaseServer } from '../support/databases.ts'
import { startFakeSink } from '../support/fake-sink.ts'
import { startRelay, webhookSource } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/**
 * On-prem → SaaS, real processes: serve schedules a job every 2 s, the agent reads a PostgreSQL
 * table (keyset) and PUTs each changed row to the SaaS API (here a fake HTTP endpoint). The
 * integration's own writes into that table (what the SaaS → on-prem direction does) must not be
 * pushed back: the origin filter skips them, the content hash skips rows that did not change.
 */
const scope = useTestScope()
const server = await databaseServer('postgres')

describe('a database → SaaS job', () => {
  it.skipIf(server.skip)('pushes what people changed, and neither its own writes nor unchanged rows (no loop)', { timeout: 90_000 }, async () => {
    const db = await createTestDatabase(server)
    scope.defer(() => db.drop())
    const table = db.table('contacts')
    await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), last_modified_by text NOT NULL)`)
    await db.query(`INSERT INTO ${table} (id, name, last_modified_by) SELECT n, 'contact ' || n, 'alice' FROM generate_series(1, 30) AS n`)
    const saas = await startFakeSink(scope)
    const relay = await startRelay(scope, { sources: { erp: webhookSource({ jobs: { push: { schedule: '*/2 * * * * *', firstRun: 'immediately', lagSeconds: 0 } } }) } })
    const agent = await relay.startAgent({
      sources: {
        erp: {
          fetch: { type: 'payload' },
          list: { type: 'postgres', url: server.url, table, cursor: 'updated_at', key: 'id', pageSize: 10 },
          originFilter: "last_modified_by != 'hookferry-integration'",
          transform: { jsonata: '{ "name": record.name }' },
          deliver: { type: 'http', url: `${saas.url}/api/contacts/{id}`, method: 'PUT' },
        },
      },
    })
    const pushes = (id: number) => saas.accepted(String(id)).length
    await eventually('every row pushed once', () => Array.from({ length: 30 }, (_, index) => pushes(index + 1)).every((count) => count === 1), { timeoutMs: 30_000 })

    // In one transaction (so one run sees all three): the SaaS → on-prem direction writes contact 1
    // as the integration; bob edits contact 2; carol touches contact 3 without changing what is delivered.
    await db.query(
      `UPDATE ${table} SET name = CASE id WHEN 1 THEN 'from the SaaS' WHEN 2 THEN 'edited by bob' ELSE name END,
         last_modified_by = CASE id WHEN 1 THEN 'hookferry-integration' WHEN 2 THEN 'bob' ELSE 'carol' END,
         updated_at = clock_timestamp() WHERE id IN (1, 2, 3)`,
    )
    await eventually('bob\'s edit pushed', () => pushes(2) === 2, { timeoutMs: 20_000 })
    const runs = agent.logsWith('sync run finished').length
    await eventually('two more runs', () => agent.logsWith('sync run finished').length >= runs + 2, { timeoutMs: 20_000 })

    expect([pushes(1), pushes(2), pushes(3)]).toEqual([1, 2, 1])
    expect(saas.accepted('2').at(-1)!.body).toEqual({ name: 'edited by bob' })
    expect(saas.received).toHaveLength(31)
    const afterEdits = agent.logsWith('sync run finished').find((line) => (line.counts as { read: number }).read === 3)
    expect(afterEdits).toMatchObject({ counts: { read: 3, written: 1, unchanged: 2 } })
  })
})

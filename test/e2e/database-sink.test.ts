import { describe, expect, it } from 'vitest'
import { createTestDatabase, databaseServer, type TestDatabase } from '../support/databases.ts'
import { startFakeSaas, type FakeSaas } from '../support/fake-saas.ts'
import { LEASE_SECONDS, requestIdsOf, startRelay, webhookSource, type Relay } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/** Real processes into a real PostgreSQL: signed webhook → `hookferry serve` → `hookferry agent` → a row, and the row's id written back. */
const scope = useTestScope()
const server = await databaseServer('postgres')

async function customersTable(): Promise<TestDatabase> {
  const db = await createTestDatabase(server)
  scope.defer(() => db.drop())
  await db.query(`CREATE TABLE ${db.table('customers')} (id serial PRIMARY KEY, stripe_id text NOT NULL UNIQUE, name text, email text, version integer)`)
  return db
}

async function startAgent(relay: Relay, saas: FakeSaas, db: TestDatabase, name?: string) {
  return relay.startAgent(
    {
      concurrency: 6,
      sources: {
        crm: {
          fetch: { type: 'http', url: saas.recordUrl('customers'), auth: { type: 'bearer', token: '${SAAS_TOKEN}' }, version: 'version' },
          deliver: { type: 'postgres', url: '${DATABASE_URL}', table: db.table('customers'), key: 'stripe_id', columns: { name: 'name', email: 'email' }, versionColumn: 'version', localKey: 'id' },
          writeBack: { url: saas.recordUrl('customers'), method: 'PATCH', body: '{ "erp_id": localKey }' },
          // The write-back changes the record; the next webhook of it must still be delivered.
          loopPrevention: { enabled: false },
        },
      },
      env: { SAAS_TOKEN: saas.token, DATABASE_URL: server.url },
    },
    name,
  )
}

/** Waits until every request is done, or discarded: a follow-up covered by a (re)delivery that fetched the latest version. */
const finished = (relay: Relay, requestIds: string[], timeoutMs = 15_000) =>
  eventually('every request finished', async () => {
    const requests = await relay.requests({ source: 'crm' })
    return requestIds.every((requestId) => requests.some((request) => request.id === requestId && ['done', 'discarded'].includes(request.state)))
  }, { timeoutMs, intervalMs: 250 })

const rowsOf = (db: TestDatabase) => db.query(`SELECT id, stripe_id, name, version FROM ${db.table('customers')} ORDER BY stripe_id`)

describe.skipIf(server.skip !== undefined)(`a change travels from the SaaS into PostgreSQL${server.skip ? ` (skipped: ${server.skip})` : ''}`, () => {
  it('upserts the row, writes its local id back to the SaaS, and ends at the latest of two quick changes', { timeout: 45_000 }, async () => {
    const db = await customersTable()
    const saas = await startFakeSaas(scope)
    saas.change('customers', 'cus_1', { name: 'Ada', email: 'ada@example.com' })
    const relay = await startRelay(scope, { sources: { crm: webhookSource() } })
    const agent = await startAgent(relay, saas, db)

    const [first] = requestIdsOf(await relay.recordChanged('crm', 'cus_1', 'customer.created'))
    await relay.requestIn(first!, 'done')
    const [row] = await rowsOf(db)
    expect(row).toEqual({ id: expect.any(Number), stripe_id: 'cus_1', name: 'Ada', version: 1 })
    // Keys of both systems: the SaaS now holds the on-prem id.
    expect(saas.patches).toMatchObject([{ collection: 'customers', id: 'cus_1', body: { erp_id: row!.id }, status: 200 }])
    expect(saas.record('customers', 'cus_1')).toMatchObject({ erp_id: row!.id })

    saas.change('customers', 'cus_1', { name: 'Ada L.' })
    const second = requestIdsOf(await relay.recordChanged('crm', 'cus_1'))
    const latest = saas.change('customers', 'cus_1', { name: 'Ada Lovelace' })
    const third = requestIdsOf(await relay.recordChanged('crm', 'cus_1'))
    await finished(relay, [...second, ...third])

    const rows = await rowsOf(db)
    expect(rows).toEqual([{ id: row!.id, stripe_id: 'cus_1', name: 'Ada Lovelace', version: expect.any(Number) }])
    expect(rows[0]!.version).toBeGreaterThanOrEqual(latest.version)
    expect(agent.logsWith('request failed')).toEqual([])
  })

  it('an agent SIGKILLed mid-batch: a new agent lands every record exactly once, at its latest version', { timeout: 60_000 }, async () => {
    const db = await customersTable()
    const saas = await startFakeSaas(scope)
    const ids = ['cus_k1', 'cus_k2', 'cus_k3', 'cus_k4', 'cus_k5', 'cus_k6']
    for (const id of ids) {
      saas.change('customers', id, { name: `${id} v1` })
      saas.change('customers', id, { name: `${id} v2` })
    }
    const relay = await startRelay(scope, { sources: { crm: webhookSource() } })
    // Another session holds an uncommitted cus_k3: the agent's batch with it waits inside its transaction.
    const blocker = await db.session()
    await blocker.query('BEGIN')
    await blocker.query(`INSERT INTO ${db.table('customers')} (stripe_id, name) VALUES ('cus_k3', 'blocker')`)

    const doomed = await startAgent(relay, saas, db, 'agent (to be killed)')
    const requestIds: string[] = []
    for (const id of ids) requestIds.push(...requestIdsOf(await relay.recordChanged('crm', id)))
    await eventually('the agent waiting inside its transaction', async () => (await db.waitingOn(`${db.schema}%customers`)).length > 0, { intervalMs: 100 })
    expect((await doomed.kill()).signal).toBe('SIGKILL')
    await blocker.query('ROLLBACK')
    await blocker.close()

    // Changed again while no agent runs: that version must win.
    const latest = saas.change('customers', 'cus_k2', { name: 'cus_k2 v3' })
    requestIds.push(...requestIdsOf(await relay.recordChanged('crm', 'cus_k2')))
    await startAgent(relay, saas, db, 'agent (after the crash)')
    await finished(relay, requestIds, (LEASE_SECONDS + 25) * 1000)

    const rows = await rowsOf(db)
    expect(rows.map((row) => [row.stripe_id, row.name])).toEqual(ids.map((id) => [id, id === 'cus_k2' ? 'cus_k2 v3' : `${id} v2`]))
    for (const row of rows) expect(row.version).toBeGreaterThanOrEqual(row.stripe_id === 'cus_k2' ? latest.version : 2)
    // Each SaaS record holds the id of its one row.
    for (const row of rows) expect(saas.record('customers', String(row.stripe_id))).toMatchObject({ erp_id: row.id })
  })
})

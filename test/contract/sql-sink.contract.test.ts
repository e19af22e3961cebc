import { describe, expect, test } from 'vitest'
import { ConfigError } from '../../lib/errors.ts'
import { groupCommit } from '../../lib/agent/sinks/group-commit.ts'
import type { DeliveryOutcome } from '../../lib/agent/sinks/sink.ts'
import { mysqlServerOf } from '../../lib/agent/sinks/sql/mysql-sink.ts'
import { postgresDeliverSchema } from '../../lib/agent/sinks/sql/sql-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import { databaseServers } from '../support/databases.ts'
import { eventually } from '../support/wait.ts'
import { createSqlHarness, remove, upsert, type SqlHarness } from './sql-sink-families.ts'

const servers = await databaseServers()
const flag = (value: unknown) => Boolean(Number(value))
const json = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value)
/** Polling the servers' lock views often slows the very sessions being watched. */
const SLOW_POLL = { intervalMs: 200 }
const AWKWARD = 'tab\there\nnew line, \\N, back\\slash, "quotes", \r and ünïcödé'
const ok = (outcome: DeliveryOutcome | undefined) => outcome?.ok === true
const addresses = (harness: SqlHarness) => ({ table: harness.db.table('addresses'), rows: 'addresses', key: 'address_id', parentKey: 'customer_stripe_id', columns: { address_id: 'id', city: 'city' } })

// One suite, run against every server; each test has its own schema, so the servers' suites run side by side.
describe.concurrent.each(servers)('SQL sink contract: $kind', (server) => {
  const it = test.extend<{ harness: SqlHarness }>({
    // eslint-disable-next-line no-empty-pattern
    harness: async ({}, use) => {
      const harness = await createSqlHarness(server)
      await use(harness)
      await harness.close()
    },
  })
  const itLive = server.skip ? it.skip : it
  if (server.skip) it.skip(`skipped: ${server.skip}`, () => {})

  itLive('inserts new records and updates existing ones by the source key, JSON columns taking objects and timestamps converted', async ({ harness }) => {
    const sink = await harness.sink(harness.customers())
    const first = await sink.deliverBatch([
      upsert('cus_1', { name: 'Ada', email: 'ada@example.com', amount: 5, data: { plan: 'pro', tags: ['a'] }, signedUp: '2024-05-01T10:00:00Z' }),
      upsert('cus_2', { name: 'Grace', amount: '7', signedUp: 1714557600 }),
    ])
    expect(first.map(ok)).toEqual([true, true])
    await sink.deliverBatch([upsert('cus_1', { name: 'Ada Lovelace', email: 'ada@example.com', amount: 6, data: { plan: 'team' } })])

    const rows = await harness.rows('customers', 'stripe_id, name, email, amount, data, signed_up', 'stripe_id')
    expect(rows.map((row) => ({ ...row, data: json(row.data) }))).toEqual([
      { stripe_id: 'cus_1', name: 'Ada Lovelace', email: 'ada@example.com', amount: 6, data: { plan: 'team' }, signed_up: null },
      { stripe_id: 'cus_2', name: 'Grace', email: null, amount: 7, data: null, signed_up: new Date('2024-05-01T10:00:00Z') },
    ])
  })

  itLive("takes the record's fields as columns with columns: '*', leaving absent fields alone", async ({ harness }) => {
    const sink = await harness.sink(harness.customers({ columns: '*' }))
    await sink.deliverBatch([upsert('cus_1', { name: 'Ada', email: 'ada@example.com' })])
    const [outcome] = await sink.deliverBatch([upsert('cus_1', { name: 'Ada L.', nickname: 'countess' }), upsert('cus_2', { email: 'grace@example.com' })])
    expect(outcome).toMatchObject({ ok: false, error: { code: 'agent.database_value', retryable: false, message: expect.stringContaining('field nickname is not a column of table') } })
    await sink.deliverBatch([upsert('cus_1', { name: 'Ada L.' })])
    expect(await harness.rows('customers', 'stripe_id, name, email', 'stripe_id')).toEqual([
      { stripe_id: 'cus_1', name: 'Ada L.', email: 'ada@example.com' },
      { stripe_id: 'cus_2', name: null, email: 'grace@example.com' },
    ])
  })

  itLive('fails a value its column cannot take with a clear error, and writes the rest of the chunk', async ({ harness }) => {
    const sink = await harness.sink(harness.customers())
    const outcomes = await sink.deliverBatch([upsert('cus_1', { signedUp: 'last tuesday' }), upsert('cus_2', { amount: 'a lot' }), upsert('cus_3', { name: 'fine' })])
    expect(outcomes[0]).toMatchObject({ ok: false, error: { code: 'agent.database_value', retryable: false, message: expect.stringMatching(/cus_1: column signed_up \(.+\) cannot take "last tuesday": expected an ISO-8601 timestamp/) } })
    expect(outcomes[1]).toMatchObject({ ok: false, error: { message: expect.stringMatching(/cus_2: column amount \(.+\) cannot take "a lot": expected a whole number/) } })
    expect(outcomes[2]).toEqual({ ok: true, localKey: expect.anything() })
    expect(await harness.rows('customers', 'stripe_id', 'stripe_id')).toEqual([{ stripe_id: 'cus_3' }])
  })

  itLive('takes a list into an array column (PostgreSQL text[]) or a JSON one', async ({ harness }) => {
    const sink = await harness.sink(harness.customers({ columns: { name: 'name', tags: 'tags' } }))
    expect((await sink.deliverBatch([upsert('cus_1', { name: 'Ada', tags: ['math', 'engines'] }), upsert('cus_2', { name: 'Grace' })])).map(ok)).toEqual([true, true])
    expect((await harness.rows('customers', 'stripe_id, tags', 'stripe_id')).map((row) => [row.stripe_id, json(row.tags)])).toEqual([['cus_1', ['math', 'engines']], ['cus_2', null]])
  })

  itLive('with a version column, only an equal or newer version overwrites: an older one is a no-op reported stale', async ({ harness }) => {
    const sink = await harness.sink(harness.customers({ versionColumn: 'version' }))
    await sink.deliverBatch([upsert('cus_1', { name: 'v2' }, { version: '2' })])
    const outcomes = await sink.deliverBatch([upsert('cus_1', { name: 'v1' }, { version: '1' }), upsert('cus_2', { name: 'new' }, { version: '1' })])
    expect(outcomes).toEqual([{ ok: true, stale: true }, { ok: true, localKey: expect.anything() }])
    expect(await harness.rows('customers', 'stripe_id, name, version', 'stripe_id')).toEqual([
      { stripe_id: 'cus_1', name: 'v2', version: 2 },
      { stripe_id: 'cus_2', name: 'new', version: 1 },
    ])
    expect(await sink.deliverBatch([upsert('cus_1', { name: 'v2 again' }, { version: '2' })])).toEqual([{ ok: true, localKey: expect.anything() }])
    expect(await sink.deliverBatch([upsert('cus_1', { name: 'v3' }, { version: '3' })])).toEqual([{ ok: true, localKey: expect.anything() }])
    expect((await harness.rows('customers', 'name, version', 'stripe_id'))[0]).toEqual({ name: 'v3', version: 3 })
    const [unversioned] = await sink.deliverBatch([upsert('cus_3', { name: 'no version' })])
    expect(unversioned).toMatchObject({ ok: false, error: { message: expect.stringContaining('the delivery has no version') } })
  })

  itLive('soft-deletes by setting deletedAt, and an upsert brings the row back', async ({ harness }) => {
    const sink = await harness.sink(harness.customers({ delete: 'soft', deletedAt: 'deleted_at' }))
    await sink.deliverBatch([upsert('cus_1', { name: 'Ada' }), upsert('cus_2', { name: 'Grace' })])
    expect((await sink.deliverBatch([remove('cus_1')])).map(ok)).toEqual([true])
    expect(await harness.rows('customers', 'stripe_id, name, deleted_at IS NOT NULL AS deleted', 'stripe_id').then((rows) => rows.map((row) => ({ ...row, deleted: flag(row.deleted) })))).toEqual([
      { stripe_id: 'cus_1', name: 'Ada', deleted: true },
      { stripe_id: 'cus_2', name: 'Grace', deleted: false },
    ])
    await sink.deliverBatch([upsert('cus_1', { name: 'Ada again' })])
    expect(await harness.rows('customers', 'stripe_id, deleted_at', 'stripe_id')).toEqual([
      { stripe_id: 'cus_1', deleted_at: null },
      { stripe_id: 'cus_2', deleted_at: null },
    ])
  })

  itLive('hard-deletes the row by key, its children first; deleting a missing row is harmless', async ({ harness }) => {
    const sink = await harness.sink(harness.customers({ children: [addresses(harness)] }))
    await sink.deliverBatch([upsert('cus_1', { name: 'Ada', addresses: [{ id: 'a-1', city: 'London' }] }), upsert('cus_2', { name: 'Grace' })])
    expect((await sink.deliverBatch([remove('cus_1'), remove('cus_404')])).map(ok)).toEqual([true, true])
    expect(await harness.rows('customers', 'stripe_id', 'stripe_id')).toEqual([{ stripe_id: 'cus_2' }])
    expect(await harness.rows('addresses', 'address_id', 'address_id')).toEqual([])
  })

  itLive('replaces the children of a parent as a set: vanished ones are deleted, or soft-deleted', async ({ harness }) => {
    const sink = await harness.sink(harness.customers({ children: [{ ...addresses(harness), delete: 'soft', deletedAt: 'deleted_at' }] }))
    await sink.deliverBatch([
      upsert('cus_1', { name: 'Ada', addresses: [{ id: 'a-1', city: 'London' }, { id: 'a-2', city: 'Paris' }] }),
      upsert('cus_2', { name: 'Grace', addresses: [{ id: 'b-1', city: 'New York' }] }),
    ])
    await sink.deliverBatch([upsert('cus_1', { name: 'Ada', addresses: [{ id: 'a-2', city: 'Lyon' }, { id: 'a-3', city: 'Rome' }] })])
    const rows = await harness.rows('addresses', 'address_id, customer_stripe_id, city, deleted_at IS NOT NULL AS deleted', 'address_id')
    expect(rows.map((row) => ({ ...row, deleted: flag(row.deleted) }))).toEqual([
      { address_id: 'a-1', customer_stripe_id: 'cus_1', city: 'London', deleted: true },
      { address_id: 'a-2', customer_stripe_id: 'cus_1', city: 'Lyon', deleted: false },
      { address_id: 'a-3', customer_stripe_id: 'cus_1', city: 'Rome', deleted: false },
      { address_id: 'b-1', customer_stripe_id: 'cus_2', city: 'New York', deleted: false },
    ])
    // A child that comes back is live again.
    await sink.deliverBatch([upsert('cus_1', { name: 'Ada', addresses: [{ id: 'a-1', city: 'London' }] })])
    const again = await harness.rows('addresses', 'address_id, deleted_at IS NOT NULL AS deleted', 'address_id')
    expect(again.map((row) => [row.address_id, flag(row.deleted)])).toEqual([['a-1', false], ['a-2', true], ['a-3', true], ['b-1', false]])
  })

  itLive("writes a parent and its children in one transaction: a connection killed mid-chunk leaves no partial parent, the retry writes it all once", { timeout: 30_000 }, async ({ harness }) => {
    const { db } = harness
    const sink = await harness.sink(harness.customers({ children: [addresses(harness)] }))
    // Another session holds an uncommitted a-2, so the chunk's children wait on it, its parents already written.
    const blocker = await db.session()
    await blocker.query(harness.kind === 'postgres' ? 'BEGIN' : 'START TRANSACTION')
    await blocker.query(`INSERT INTO ${db.table('customers')} (stripe_id) VALUES ('cus_blocker')`)
    await blocker.query(`INSERT INTO ${db.table('addresses')} (address_id, customer_stripe_id) VALUES ('a-2', 'cus_blocker')`)

    const delivered = sink.deliverBatch([
      upsert('cus_1', { name: 'Ada', addresses: [{ id: 'a-1', city: 'London' }] }),
      upsert('cus_2', { name: 'Grace', addresses: [{ id: 'a-2', city: 'Paris' }] }),
    ])
    const [waiting] = await eventually('the chunk waiting on a-2', async () => { const w = await db.waitingOn(`${db.schema}%addresses`); return w.length === 1 && w }, SLOW_POLL)
    await db.kill(waiting!)
    // Killed: nothing of the chunk is visible, though its parents had been written in it.
    await eventually('the killed chunk retried', async () => {
      const now = await db.waitingOn(`${db.schema}%addresses`)
      return now.length === 1 && now[0] !== waiting
    }, SLOW_POLL)
    expect(await harness.rows('customers', 'stripe_id', 'stripe_id')).toEqual([])
    await blocker.query('ROLLBACK')
    await blocker.close()

    expect((await delivered).map(ok)).toEqual([true, true])
    expect(await harness.rows('customers', 'stripe_id, name', 'stripe_id')).toEqual([{ stripe_id: 'cus_1', name: 'Ada' }, { stripe_id: 'cus_2', name: 'Grace' }])
    expect(await harness.rows('addresses', 'address_id, customer_stripe_id', 'address_id')).toEqual([{ address_id: 'a-1', customer_stripe_id: 'cus_1' }, { address_id: 'a-2', customer_stripe_id: 'cus_2' }])
  })

  itLive('keeps the last of duplicate keys inside one chunk, and answers every delivery', async ({ harness }) => {
    const sink = await harness.sink(harness.customers({ versionColumn: 'version', children: [addresses(harness)] }))
    const outcomes = await sink.deliverBatch([
      upsert('cus_1', { name: 'first', addresses: [{ id: 'a-1', city: 'one' }, { id: 'a-1', city: 'one again' }] }, { version: '1' }),
      upsert('cus_2', { name: 'other' }, { version: '1' }),
      upsert('cus_1', { name: 'second', addresses: [{ id: 'a-1', city: 'two' }] }, { version: '2' }),
      upsert('cus_1', { name: 'third', addresses: [{ id: 'a-1', city: 'three' }, { id: 'a-2', city: 'three' }] }, { version: '3' }),
    ])
    expect(outcomes.map(ok)).toEqual([true, true, true, true])
    expect(outcomes[0]).toEqual(outcomes[3])
    expect(await harness.rows('customers', 'stripe_id, name, version', 'stripe_id')).toEqual([{ stripe_id: 'cus_1', name: 'third', version: 3 }, { stripe_id: 'cus_2', name: 'other', version: 1 }])
    expect(await harness.rows('addresses', 'address_id, city', 'address_id')).toEqual([{ address_id: 'a-1', city: 'three' }, { address_id: 'a-2', city: 'three' }])
  })

  itLive('writes a 20,000-record chunk of 10 columns in one call, under the parameter limit', { timeout: 60_000 }, async ({ harness }) => {
    const columns = Object.fromEntries(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9'].map((column) => [column, column]))
    const sink = await harness.sink({ table: harness.db.table('wide'), key: 'k', columns })
    const chunk = Array.from({ length: 20_000 }, (_, index) =>
      upsert(`r-${String(index).padStart(5, '0')}`, { c1: index === 7 ? AWKWARD : `name ${index}`, c2: 'x', c3: index, c4: -index, c5: index / 4, c6: index % 2 === 0, c7: '2024-05-01T10:00:00Z', c8: index === 7 ? { index, note: AWKWARD } : { index }, c9: 'y' }),
    )
    const outcomes = await sink.deliverBatch(chunk)
    expect(outcomes.filter(ok)).toHaveLength(20_000)
    const [{ n, top }] = (await harness.db.query(`SELECT COUNT(*) AS n, MAX(c3) AS top FROM ${harness.db.table('wide')}`)) as [{ n: unknown; top: unknown }]
    expect([Number(n), Number(top)]).toEqual([20_000, 19_999])
    // Tabs, newlines and backslashes survive the bulk path (COPY's text format on PostgreSQL).
    expect(await harness.db.query(`SELECT c1, c8 FROM ${harness.db.table('wide')} WHERE k = 'r-00007'`).then((rows) => rows.map((row) => ({ ...row, c8: json(row.c8) })))).toEqual([{ c1: AWKWARD, c8: { index: 7, note: AWKWARD } }])
  })

  itLive('isolates exactly the record a constraint refuses: the others commit, it fails with the database message', async ({ harness }) => {
    const sink = await harness.sink(harness.customers())
    const outcomes = await sink.deliverBatch(['cus_1', 'cus_2', 'cus_3', 'cus_4', 'cus_5'].map((id) => upsert(id, { name: id, amount: id === 'cus_3' ? -1 : 1 })))
    expect(outcomes.map(ok)).toEqual([true, true, false, true, true])
    expect(outcomes[2]).toMatchObject({ ok: false, error: { code: 'agent.database_rejected', retryable: false, message: expect.stringMatching(/refused cus_3: \[\w+\] .*(check|constraint)/i) } })
    expect((await harness.rows('customers', 'stripe_id', 'stripe_id')).map((row) => row.stripe_id)).toEqual(['cus_1', 'cus_2', 'cus_4', 'cus_5'])
  })

  itLive('isolates the refused record of a large chunk too (PostgreSQL stages those with COPY)', { timeout: 60_000 }, async ({ harness }) => {
    const sink = await harness.sink(harness.customers())
    const ids = Array.from({ length: 1_500 }, (_, index) => `cus_${String(index).padStart(4, '0')}`)
    const outcomes = await sink.deliverBatch(ids.map((id) => upsert(id, { name: id, amount: id === 'cus_0777' ? -5 : 1 })))
    expect(ids.filter((_, index) => !ok(outcomes[index]))).toEqual(['cus_0777'])
    const [{ n }] = (await harness.db.query(`SELECT COUNT(*) AS n FROM ${harness.db.table('customers')}`)) as [{ n: unknown }]
    expect(Number(n)).toBe(1_499)
  })

  itLive('survives a deadlock with a concurrent writer: its chunk is retried and succeeds', { timeout: 30_000 }, async ({ harness }) => {
    const { db } = harness
    const sink = await harness.sink(harness.customers())
    await sink.deliverBatch([upsert('cus_a', { name: 'a0' }), upsert('cus_b', { name: 'b0' })])
    const other = await db.session()
    await other.query(harness.kind === 'postgres' ? 'BEGIN' : 'START TRANSACTION')
    if (harness.kind === 'postgres') await other.query("SET LOCAL deadlock_timeout = '20s'") // the sink's session detects it, and is the victim
    // InnoDB rolls back the lighter transaction: make the other one heavier.
    else await other.query(`INSERT INTO ${db.table('wide')} (k) VALUES ${Array.from({ length: 50 }, (_, index) => `('w${index}')`).join(', ')}`)
    await other.query(`UPDATE ${db.table('customers')} SET name = 'other' WHERE stripe_id = 'cus_b'`)

    // The sink locks cus_a, then waits for cus_b; the other writer then asks for cus_a: a deadlock.
    const delivered = sink.deliverBatch([upsert('cus_a', { name: 'a1' }), upsert('cus_b', { name: 'b1' })])
    await eventually('the sink waiting on cus_b', async () => (await db.waitingOn(`${db.schema}%customers`)).length === 1, SLOW_POLL)
    await other.query(`UPDATE ${db.table('customers')} SET name = 'other' WHERE stripe_id = 'cus_a'`)
    await other.query('COMMIT')
    await other.close()

    expect((await delivered).map(ok)).toEqual([true, true])
    // The sink's retry ran after the other writer committed.
    expect(await harness.rows('customers', 'stripe_id, name', 'stripe_id')).toEqual([{ stripe_id: 'cus_a', name: 'a1' }, { stripe_id: 'cus_b', name: 'b1' }])
  })

  itLive('gives up after its retries with a retryable error when the database keeps timing out, having written nothing', { timeout: 30_000 }, async ({ harness }) => {
    const { db } = harness
    const sink = await harness.sink(harness.customers({ statementTimeoutMs: 300, retry: { attempts: 2, baseDelayMs: 10 } }))
    const blocker = await db.session()
    await blocker.query(harness.kind === 'postgres' ? 'BEGIN' : 'START TRANSACTION')
    await blocker.query(`INSERT INTO ${db.table('customers')} (stripe_id) VALUES ('cus_2')`)
    const failure = await sink.deliverBatch([upsert('cus_1', { name: 'Ada' }), upsert('cus_2', { name: 'Grace' })]).catch((error: unknown) => error)
    expect(failure).toMatchObject({ name: 'AgentError', code: 'agent.database_unavailable', retryable: true, outage: true, message: expect.stringContaining('(2 attempts)') })
    await blocker.query('ROLLBACK')
    expect(await harness.rows('customers', 'stripe_id', 'stripe_id')).toEqual([])
  })

  itLive('runs a statement of a sync job in its database (afterRun)', async ({ harness }) => {
    const sink = await harness.sink(harness.customers())
    await sink.deliverBatch([upsert('cus_1', { name: 'Ada' })])
    await sink.execute(`UPDATE ${harness.db.table('customers')} SET email = ${harness.kind === 'postgres' ? '$1' : '?'}`, ['synced@example.com'])
    expect(await harness.rows('customers', 'email', 'stripe_id')).toEqual([{ email: 'synced@example.com' }])
  })

  itLive('offers the full-refresh sweep only with a runColumn', async ({ harness }) => {
    expect((await harness.sink(harness.customers())).deleteNotSeenInRun).toBeUndefined()
  })

  itLive('returns the local primary key of each row for write-back, through group commit too', async ({ harness }) => {
    const sink = await harness.sink(harness.customers())
    const outcomes = await sink.deliverBatch([upsert('cus_1', { name: 'Ada' }), upsert('cus_2', { name: 'Grace' })])
    const ids = await harness.rows('customers', 'stripe_id, id', 'stripe_id')
    expect(outcomes).toEqual(ids.map((row) => ({ ok: true, localKey: row.id })))
    const grouped = groupCommit(sink)
    const [again, fresh] = await Promise.all([grouped.deliver(upsert('cus_1', { name: 'Ada L.' })), grouped.deliver(upsert('cus_3', { name: 'Edsger' }))])
    expect(again).toEqual({ localKey: ids[0]!.id })
    const [third] = await harness.db.query(`SELECT id FROM ${harness.db.table('customers')} WHERE stripe_id = 'cus_3'`)
    expect(fresh).toEqual({ localKey: third!.id })
  })

  itLive('after a full-refresh run, deletes the rows an earlier run stamped and this one did not see, leaving real-time rows alone', async ({ harness }) => {
    const sink = await harness.sink(harness.customers({ runColumn: 'run_id', children: [addresses(harness)] }))
    await sink.deliverBatch([upsert('cus_1', { name: 'a', addresses: [{ id: 'a-1' }] }, { runId: 'run-1' }), upsert('cus_2', { name: 'b' }, { runId: 'run-1' }), upsert('cus_3', { name: 'c' }, { runId: 'run-1' })])
    await sink.deliverBatch([upsert('cus_4', { name: 'real time' })])
    await sink.deliverBatch([upsert('cus_2', { name: 'b' }, { runId: 'run-2' })])
    await sink.deliverBatch([upsert('cus_3', { name: 'c changed in real time' })])

    expect(await sink.deleteNotSeenInRun!('run-2')).toBe(1)
    expect(await harness.rows('customers', 'stripe_id, run_id', 'stripe_id')).toEqual([
      { stripe_id: 'cus_2', run_id: 'run-2' },
      { stripe_id: 'cus_3', run_id: null },
      { stripe_id: 'cus_4', run_id: null },
    ])
    expect(await harness.rows('addresses', 'address_id', 'address_id')).toEqual([])
  })

  itLive('records refused records of a run in its own hookferry_rejects table, created when told to', async ({ harness }) => {
    const rejects = harness.db.table('hookferry_rejects')
    const sink = await harness.sink(harness.customers({ rejects: { table: rejects, create: true } }))
    const delivery = upsert('cus_9', { name: 'bad', amount: -1 }, { runId: 'run-7' })
    await sink.rejects!.record([{ delivery, error: { code: 'agent.database_rejected', message: 'violates check constraint' }, at: '2024-05-01T10:00:00.000Z' }])
    const rows = await harness.db.query(`SELECT run_id, source, table_name, record_key, payload, error, created_at FROM ${rejects}`)
    expect(rows.map((row) => ({ ...row, payload: json(row.payload) }))).toEqual([
      { run_id: 'run-7', source: 'crm', table_name: harness.db.table('customers'), record_key: 'cus_9', payload: { name: 'bad', amount: -1 }, error: 'agent.database_rejected: violates check constraint', created_at: new Date('2024-05-01T10:00:00.000Z') },
    ])
  })

  itLive('refuses to start with a missing table, column or unique key: one line naming each', async ({ harness }) => {
    await expect(harness.sink(harness.customers({ table: harness.db.table('nope') }))).rejects.toThrow(new ConfigError(`sources.crm.deliver.table: table ${harness.db.table('nope')} does not exist in the ${harness.kind} database (hookferry never creates your tables)`))
    const error = await harness.sink(harness.customers({ columns: { email: 'email', phone: 'phone' }, key: 'name', children: [{ ...addresses(harness), parentKey: 'customer_id' }] })).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message.split('\n')).toEqual([
      `sources.crm.deliver.columns.phone: table ${harness.db.table('customers')} has no column phone`,
      `sources.crm.deliver.key: table ${harness.db.table('customers')} has no unique key on exactly (name): the upsert needs one (CREATE UNIQUE INDEX … ON ${harness.db.table('customers')} (name))`,
      `sources.crm.deliver.children.0.parentKey: table ${harness.db.table('addresses')} has no column customer_id`,
    ])
  })

  itLive('reports an unreachable server at start-up as one line', async ({ harness }) => {
    const url = harness.kind === 'postgres' ? 'postgres://postgres@127.0.0.1:1/test' : 'mysql://root@127.0.0.1:1/test'
    await expect(harness.sink({ ...harness.customers(), url })).rejects.toThrow(/^sources\.crm\.deliver: cannot read the tables from (postgres|mysql): .*ECONNREFUSED/)
  })
})

describe('the database deliver config', () => {
  const base = { type: 'postgres', url: 'postgres://db/erp', table: 'erp.customers', key: 'stripe_id' }
  const problems = (input: Record<string, unknown>) => {
    try {
      parseWithSchema(postgresDeliverSchema, input, 'agent.yaml')
      return []
    } catch (error) {
      return (error as Error).message.split('\n')
    }
  }

  test('applies the defaults: all fields as columns, hard deletes, 4 connections, 30 s statements, 5 attempts', () => {
    expect(parseWithSchema(postgresDeliverSchema, base, 'agent.yaml')).toEqual({ ...base, columns: '*', delete: 'hard', poolSize: 4, statementTimeoutMs: 30_000, children: [], retry: { attempts: 5, baseDelayMs: 100 } })
  })

  test('names the key of each mistake on one line', () => {
    expect(problems({ ...base, delete: 'soft' })).toEqual(['agent.yaml: deletedAt: delete: soft needs deletedAt (the column to set)'])
    expect(problems({ ...base, columns: { stripe_id: 'id' } })).toEqual(['agent.yaml: columns: the key column always holds the record id: do not map it in columns'])
    expect(problems({ ...base, rejects: { table: 'rejects' } })).toEqual(["agent.yaml: rejects.table: the reject table must be named hookferry_… (it is hookferry's own)"])
    expect(problems({ ...base, columns: { name: 'name(' } })).toEqual([expect.stringMatching(/^agent\.yaml: columns\.name: expected a valid JSONata expression: /)])
    expect(problems({ ...base, table: 'drop table; --' })).toEqual(['agent.yaml: table: expected a table name, optionally schema-qualified (erp.customers)'])
  })
})

describe('MySQL server detection', () => {
  test('uses the row alias from MySQL 8.0.20, VALUES() before it and on MariaDB', () => {
    expect(mysqlServerOf('8.0.36').rowAlias).toBe(true)
    expect(mysqlServerOf('8.4.0').rowAlias).toBe(true)
    expect(mysqlServerOf('9.1.0').rowAlias).toBe(true)
    expect(mysqlServerOf('8.0.19').rowAlias).toBe(false)
    expect(mysqlServerOf('10.11.19-MariaDB-0+deb12u1').rowAlias).toBe(false)
    expect(mysqlServerOf('11.4.2-MariaDB').rowAlias).toBe(false)
  })
})

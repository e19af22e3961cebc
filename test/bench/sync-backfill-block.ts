/**
 * Block 9, scheduled sync: records/s of a backfill — the real `hookferry agent` process leases one
 * sync run and reads a local fake list API (keyset pagination, pages of 1,000) into a file sink,
 * and into PostgreSQL when a server is reachable. Floors measured in the same run: the list read
 * alone (its own process, pages fetched and parsed) and the sink alone (chunks of 1,000 written
 * straight to it). The agent's peak RSS is reported against the 150 MB budget.
 *
 *   node test/bench/sync-backfill-block.ts [records]     (this block alone; default 1,000,000)
 */
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createFileSink } from '../../lib/agent/sinks/file-sink.ts'
import { createSink } from '../../lib/agent/sinks/index.ts'
import { HttpClient } from '../../lib/agent/http-client.ts'
import type { Delivery, Sink } from '../../lib/agent/sinks/sink.ts'
import { SYNC_RECORD_TYPE, ZERO_COUNTS } from '../../lib/relay/sync-types.ts'
import type { AckItem } from '../../lib/relay/agent-api.ts'
import { startFakeListApi, type FakeListApi } from '../support/fake-list-api.ts'
import { startFakeCloud, type FakeCloud } from '../unit/agent/fake-cloud.ts'
import { childEnv, sampleRss, spawnCli } from './processes.ts'
import { progress, row, valueRow, type Row } from './report.ts'
import { sleep, summarize } from './stats.ts'

export const BACKFILL_RECORDS = 1_000_000
export const PAGE_SIZE = 1000
/** The budget for the agent during a backfill. */
export const RSS_BUDGET_MB = 150
const MB = 1024 * 1024
const RUN_TIMEOUT_IN_MS = 15 * 60_000
const POSTGRES_URL = process.env.HOOKFERRY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test'

interface Target {
  name: string
  /** The agent's `deliver:` block (YAML flow). */
  deliver: string
  /** The same sink, built in this process, for the sink-alone floor. */
  sinkAlone: () => Promise<Sink>
  reset: () => Promise<void>
}

/** Runs the block; rows for the bench table, and failures (a lost or duplicated record, RSS over budget). */
export async function benchSyncBackfill(options: { records?: number; dir: string }): Promise<{ rows: Row[]; failures: string[] }> {
  const records = options.records ?? BACKFILL_RECORDS
  const dir = mkdtempSync(join(options.dir, 'sync-'))
  const api = await startFakeListApi({ generated: { count: records, perTimestamp: 50 } })
  const rows: Row[] = []
  const failures: string[] = []
  const cleanups: (() => Promise<void>)[] = []
  try {
    progress(`9 sync backfill: list read alone (${records.toLocaleString('en-US')} records)`)
    const listFloor = await listReadAlone(api.url)
    rows.push(valueRow({ block: '9 sync backfill', runtime: '-', figure: 'floor: list API read alone', unit: 'records/s' }, listFloor))
    const { list, close } = await targets(dir)
    cleanups.push(close)
    for (const target of list) {
      await target.reset()
      progress(`9 sync backfill: ${target.name} sink alone`)
      const sinkFloor = await sinkAlone(await target.sinkAlone(), Math.min(records, 200_000))
      await target.reset()
      progress(`9 sync backfill: agent → ${target.name}`)
      // A fresh cloud per agent: a stopped agent's long poll would otherwise take the next run's lease.
      const cloud = await startFakeCloud()
      const run = await backfill({ api, cloud, dir, target, records }).finally(() => cloud.close())
      failures.push(...run.failures)
      const floor = Math.min(listFloor, sinkFloor)
      rows.push(
        valueRow({ block: '9 sync backfill', runtime: '-', figure: `floor: ${target.name} sink alone (chunks of ${PAGE_SIZE})`, unit: 'records/s' }, sinkFloor),
        valueRow({ block: '9 sync backfill', runtime: '-', figure: `backfill → ${target.name}, end to end (floor: the slower floor)`, unit: 'records/s' }, run.rate, floor),
        row({ block: '9 sync backfill', runtime: '-', figure: `agent RSS during the backfill → ${target.name} (budget ${RSS_BUDGET_MB}; floor: the same agent idle)`, unit: 'MB' }, summarize(run.rssMb), { floor: summarize(run.idleMb).median }),
      )
      if (Math.max(...run.rssMb) > RSS_BUDGET_MB) failures.push(`sync backfill → ${target.name}: agent RSS peaked at ${Math.max(...run.rssMb).toFixed(0)} MB, over ${RSS_BUDGET_MB} MB`)
    }
  } finally {
    for (const cleanup of cleanups) await cleanup()
    await api.close()
    rmSync(dir, { recursive: true, force: true })
  }
  return { rows, failures }
}

async function targets(dir: string): Promise<{ list: Target[]; close: () => Promise<void> }> {
  const file = join(dir, 'sink.jsonl')
  const list: Target[] = [
    {
      name: 'file',
      deliver: `{ type: file, path: "${file}" }`,
      sinkAlone: async () => createFileSink({ path: join(dir, 'floor.jsonl') }),
      reset: async () => rmSync(file, { force: true }),
    },
  ]
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  try {
    await admin.connect()
  } catch (error) {
    progress(`9 sync backfill: no PostgreSQL at ${POSTGRES_URL.replace(/\/\/[^@/]*@/, '//')} (${(error as Error).message}): file sink only`)
    return { list, close: async () => {} }
  }
  const schema = `hf_bench_${process.pid}`
  const table = `${schema}.records`
  const deliver = { type: 'postgres' as const, url: POSTGRES_URL, table, key: 'id', columns: { updated_at: 'updated_at', name: 'name', amount: 'amount' } }
  list.push({
    name: 'PostgreSQL',
    deliver: JSON.stringify(deliver),
    sinkAlone: async () => {
      const { postgresDeliverSchema } = await import('../../lib/agent/sinks/sql/sql-config.ts')
      return createSink(postgresDeliverSchema.parse(deliver), { http: new HttpClient(), key: 'bench.deliver' })
    },
    reset: async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await admin.query(`CREATE SCHEMA ${schema}`)
      await admin.query(`CREATE TABLE ${table} (id text PRIMARY KEY, updated_at timestamptz NOT NULL, name text NOT NULL, amount integer NOT NULL)`)
    },
  })
  const close = async () => {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)
    await admin.end()
  }
  return { list, close }
}

/** Floor 1: every page read and parsed by a process that does nothing else. */
async function listReadAlone(url: string): Promise<number> {
  const child = fork(fileURLToPath(new URL('./sync-list-floor.ts', import.meta.url)), [url, String(PAGE_SIZE)], { env: childEnv(), stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const { records, ms } = await new Promise<{ records: number; ms: number }>((resolve, reject) => {
    child.once('message', (message: { records: number; ms: number }) => resolve(message))
    child.once('exit', (code) => reject(new Error(`the list floor exited (${code})`)))
  })
  return (records * 1000) / ms
}

/** Floor 2: the sink's batch path alone, chunks of PAGE_SIZE. */
async function sinkAlone(sink: Sink, records: number): Promise<number> {
  const startedAt = performance.now()
  for (let start = 0; start < records; start += PAGE_SIZE) {
    const chunk: Delivery[] = Array.from({ length: Math.min(PAGE_SIZE, records - start) }, (_, offset) => {
      const id = String(start + offset).padStart(9, '0')
      return { op: 'upsert', source: 'bench', recordId: id, requestId: 'floor', runId: 'floor', idempotencyKey: id, version: '2026-01-01T00:00:00.000Z', record: { id, updated_at: '2026-01-01T00:00:00.000Z', name: `record ${id}`, amount: 1 } }
    })
    const outcomes = await sink.deliverBatch(chunk)
    if (outcomes.some((outcome) => !outcome.ok)) throw new Error('the sink refused a floor delivery')
  }
  const rate = (records * 1000) / (performance.now() - startedAt)
  await sink.close()
  return rate
}

/** The real agent process works one sync run over the whole data set; records/s from lease to ack. */
async function backfill({ api, cloud, dir, target, records }: { api: FakeListApi; cloud: FakeCloud; dir: string; target: Target; records: number }): Promise<{ rate: number; rssMb: number[]; idleMb: number[]; failures: string[] }> {
  const config = join(dir, `agent-${target.name}.yaml`)
  writeFileSync(
    config,
    [
      `cloud: { url: "${cloud.url}", token: "${cloud.token}", leaseSeconds: 300 }`,
      `dataDir: ./agent-data-${target.name}`,
      'sources:',
      '  bench:',
      `    fetch: { type: http, url: "${api.url}/items/{id}" }`,
      `    list: { type: http, url: "${api.url}/items?style=keyset&since={since}&since_id={sinceKey}&limit={pageSize}", items: data, pagination: { type: since }, order: cursor-key, pageSize: ${PAGE_SIZE} }`,
      `    sync: { chunkSize: ${PAGE_SIZE} }`,
      `    deliver: ${target.deliver}`,
    ].join('\n'),
  )
  const agent = await spawnCli(['agent', '--config', config], join(dir, `agent-${target.name}.log`), 'hookferry agent started')
  const failures: string[] = []
  try {
    await sleep(300)
    const idle = sampleRss(agent.pid, 100)
    await sleep(1000)
    const idleMb = idle.stop().map((bytes) => bytes / MB)
    const sampler = sampleRss(agent.pid, 250)
    const grant = cloud.enqueue({ source: 'bench', recordId: 'backfill', recordType: SYNC_RECORD_TYPE, sync: { runId: `bench-${target.name}`, job: 'backfill', mode: 'full', counts: { ...ZERO_COUNTS } } })
    const startedAt = performance.now()
    let ack: AckItem | undefined
    while (!(ack = cloud.acksOf(grant.lease)[0])) {
      if (performance.now() - startedAt > RUN_TIMEOUT_IN_MS) throw new Error(`the backfill → ${target.name} did not finish within ${RUN_TIMEOUT_IN_MS / 60_000} min`)
      await sleep(50)
    }
    const seconds = (performance.now() - startedAt) / 1000
    const rssMb = sampler.stop().map((bytes) => bytes / MB)
    const counts = ack.outcome === 'done' ? ack.sync?.counts : undefined
    if (!counts || counts.written !== records || counts.rejected !== 0) failures.push(`sync backfill → ${target.name}: expected ${records} written, got ack ${JSON.stringify(ack).slice(0, 300)}`)
    return { rate: records / seconds, rssMb, idleMb, failures }
  } finally {
    await agent.stop()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = mkdtempSync(join(tmpdir(), 'hookferry-bench-'))
  const { renderTable } = await import('./report.ts')
  const result = await benchSyncBackfill({ dir, records: Number(process.argv[2] ?? BACKFILL_RECORDS) }).finally(() => rmSync(dir, { recursive: true, force: true }))
  console.log(renderTable(result.rows))
  for (const failure of result.failures) console.log(`FAILED: ${failure}`)
  process.exitCode = result.failures.length > 0 ? 1 : 0
}

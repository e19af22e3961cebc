/**
 * `npm run bench [-- --json]`: hookferry's benchmarks on the embedded default and on the AWS
 * adapters (fauxqs + DynamoDB Local), printed as ONE table. Every figure comes with the floor
 * measured in the same run, because these machines are shared and noisy: compare ratios within
 * a run, not absolute times across runs. Loopback only; every loop is bounded. Progress goes to
 * stderr; the table (or JSON) to stdout. Exits 1 when a throughput run lost or duplicated a record.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAwsEmulators, type AwsEmulators } from './aws-emulators.ts'
import { benchColdStart } from './cold-start-block.ts'
import { benchDashboard } from './dashboard-block.ts'
import { benchDrain, type DrainSettings } from './drain-block.ts'
import { COST_FLOOR_PER_MILLION, costRows, memoryGbOf, PRICES } from './cost-block.ts'
import { benchEndToEnd, PATH_ROUND_TRIPS } from './end-to-end-block.ts'
import { benchFootprint, type FootprintSettings } from './footprint-block.ts'
import { benchIngest, warmUp, type IngestSettings } from './ingest-block.ts'
import { benchMixed } from './mixed-block.ts'
import { bareNodeRss, forkReady, type IpcChild } from './processes.ts'
import { progress, renderTable, type Report, type Row } from './report.ts'
import { benchSqlSinks } from './sql-sink-block.ts'
import { benchSyncBackfill } from './sync-backfill-block.ts'
import { startCloud, startOnPrem, writeCloudConfig, type CloudConfig, type OnPrem, type Runtime } from './stack.ts'
import { summarize } from './stats.ts'
import { benchThroughput, type ThroughputRun, type ThroughputSettings } from './throughput-block.ts'

const INGEST: Record<Runtime, IngestSettings> = {
  embedded: { warmup: 50, sequential: 300, senders: 16, durationMs: 3_000 },
  aws: { warmup: 20, sequential: 150, senders: 16, durationMs: 3_000 },
}
const END_TO_END: Record<Runtime, { samples: number; warmup: number }> = {
  embedded: { warmup: 10, samples: 100 },
  aws: { warmup: 5, samples: 60 },
}
const THROUGHPUT: Record<Runtime, ThroughputSettings> = {
  // Embedded concurrency 32 under senders is block 5's 60 s window; the agent alone is the drain block.
  embedded: { concurrencies: [1, 8], warmupMs: 1_000, windowMs: 4_000, senders: 8 },
  // The cost model is read at 8 and 32; at 1 the emulators' few records/s take longest to drain.
  aws: { concurrencies: [8, 32], warmupMs: 1_000, windowMs: 4_000, senders: 8 },
}
/** Embedded only: one agent emptying a backlog, ingest idle (the agent's own rate). */
const DRAIN: DrainSettings = { backlog: 2_000, concurrencies: [8, 32, 64] }
/** Embedded only: the agent idle, then 60 s of sustained load sampled each second (is its RSS flat?). */
const FOOTPRINT: FootprintSettings = { concurrency: 32, senders: 8, warmupMs: 2_000, durationMs: 60_000, sampleEveryMs: 1_000 }
const COLD_IMPORTS = 5
/** Records of the scheduled backfill (`node test/bench/sync-backfill-block.ts 1000000` for the million). */
const BACKFILL_RECORDS = 200_000
const AWS_WARM_UP_IN_MS = 10_000
const MB = 1024 * 1024

const NOTES = [
  'Floors, all measured in this run on the same machine:',
  '  1 ingest: a plain node:http server in its own process that reads the body and answers 202, sent the very same signed requests.',
  `  2 end to end: ${PATH_ROUND_TRIPS} sequential loopback HTTP round trips (webhook → 202, the pending long poll answered, GET of the record, PUT to the sink) to that server.`,
  `  3 throughput: as many workers as the agent's concurrency, each doing those ${PATH_ROUND_TRIPS} round trips per record. Drain: a backlog accepted first, then one agent empties it (rate between its first and last delivery); floor: as many workers doing the fetch and the delivery alone (2 round trips per record).`,
  '  4 cold start: a handler that only answers 202, bundled, imported and invoked the same way.',
  '  5 footprint: a bare `node` process that only waits. The agent measured is the compiled build (dist/, as the npm package runs it; HOOKFERRY_BENCH_AGENT=checkout for the TypeScript sources), idle, then under 60 s of sustained load at concurrency 32 sampled once a second: median, highest, least-squares slope, and the records/s of that window.',
  `  6 cost: one API Gateway request to one Lambda billed 1 ms ($${COST_FLOOR_PER_MILLION.toFixed(2)} per 1M).`,
  '  7 dashboard: a one-field HTML page from a bare node:http server, loaded the same way (headless Chromium, empty cache, until the field is on screen).',
  '  8 database sinks: the same 10-column rows into the same server, as a plain COPY (PostgreSQL, pg-copy-streams) or one multi-row INSERT (MariaDB/MySQL); the sink writes chunks of 5,000 through deliverBatch (upserts, one transaction each).',
  '  9 sync backfill: the list API read alone (keyset pages of 1,000 fetched and parsed by a process doing nothing else) and the sink alone (the same chunks written straight to it); the backfill is one sync run of `hookferry agent` against a fake cloud, lease to ack; RSS against the same agent idle.',
  'For rates (webhooks/s, records/s) the p99 column is the slow tail: the 1st percentile of per-interval rates.',
  'Processes: the server under test, the agent (`hookferry agent`) and the floor server each run in their own process; the load generator, the fake SaaS API, the sink and fauxqs share this one; DynamoDB Local is a JVM.',
  'Embedded = `hookferry serve` (the CLI, SQLite). AWS = the HTTP front of startServer with the AWS runtime (SqsWorkQueue on fauxqs, DynamoLedger on DynamoDB Local); durations against emulators sharing 2 busy cores, not AWS: read the AWS latencies and Lambda compute as upper bounds.',
  'Bundles: esbuild with the options SST uses (bundle, ESM, minify, keepNames, splitting, target esnext): the AWS SDK is bundled, not taken from the nodejs22.x runtime (slower to load); sizes count every file a function ships, "loaded" the files one cold start imported. Cold start: a fresh node imports the bundle and invokes it once with a request it refuses before any AWS call (unknown source, no token; the cron functions\' single SDK attempt hits a closed local port); the config is the deploy-time JSON.',
  `Cost: ${PRICES.asOf}. API Gateway HTTP $${PRICES.apiGatewayHttpPerMillion}/1M; Lambda $${PRICES.lambdaPerMillionRequests}/1M + $${PRICES.lambdaArm64PerGbSecond}/GB-s (arm64; agent-pull at ${memoryGbOf('agent-pull') * 1024} MB, the rest at ${memoryGbOf('ingest') * 1024} MB, as sst.config.ts sets them); SQS $${PRICES.sqsPerMillionRequests}/1M; DynamoDB on-demand $${PRICES.dynamoDbPerMillionWriteUnits}/1M WRU, $${PRICES.dynamoDbPerMillionReadUnits}/1M RRU.`,
  '  Counted per webhook from the AWS throughput runs: HTTP calls through the API (ingest, pull, ack, extend, heartbeat) = API Gateway requests = Lambda invocations; Lambda durations at the HTTP front, each rounded up to 1 ms; SQS and DynamoDB calls counted by a middleware on the adapters\' SDK clients; DynamoDB units: single-item writes (PutItem/UpdateItem/DeleteItem) as DynamoDB Local reports them (ReturnConsumedCapacity INDEXES: 1 KB steps of the larger of the old and new item; an index entry added or removed 1, moved 2); reads (GetItem, Query, BatchGetItem: 4 KB steps per item, eventually consistent ones half) and transactions (2× per item, ConditionCheck 2 WRU, index 1 for a new item, 2 otherwise) computed by DynamoDB\'s rules, since DynamoDB Local reports transactions inconsistently. `node test/bench/aws-cost-run.ts [concurrency…]` runs only the AWS throughput and cost blocks and prints the units per webhook by call. Not included: CloudWatch logs/metrics, data transfer, the repair cron, free tiers.',
]

async function runtimeBlocks(runtime: Runtime, shared: { config: CloudConfig; onPrem: OnPrem; floor: IpcChild; dir: string; bareNodeRssMb: number; emulators?: AwsEmulators }): Promise<{ rows: Row[]; failures: string[]; runs: ThroughputRun[] }> {
  const fresh = async () => startCloud(runtime, shared.config, shared.dir, await shared.emulators?.freshResources())
  if (runtime === 'aws') {
    progress('warming up DynamoDB Local (JIT)')
    const cloud = await fresh()
    await warmUp(cloud.url, shared.config.verify, AWS_WARM_UP_IN_MS).finally(() => cloud.stop())
  }
  progress(`1 ingest (${runtime})`)
  const ingestCloud = await fresh()
  const ingest = await benchIngest({ runtime, url: ingestCloud.url, floorUrl: shared.floor.url, verify: shared.config.verify, settings: INGEST[runtime] }).finally(() => ingestCloud.stop())
  progress(`2 end to end, 5 footprint (${runtime})`)
  const context = { runtime, newCloud: fresh, config: shared.config, onPrem: shared.onPrem, floorUrl: shared.floor.url, bareNodeRssMb: shared.bareNodeRssMb, dir: shared.dir }
  const endToEnd = await benchEndToEnd(context, END_TO_END[runtime])
  const throughput = await benchThroughput(context, THROUGHPUT[runtime], progress)
  const mixed = runtime === 'embedded' ? (progress('3 throughput, mixed (embedded): ingest saturated while one agent drains'), await benchMixed(context, { concurrency: 8, senders: 16, warmupMs: 1_000, windowMs: 3_000 })) : { rows: [], failures: [] }
  const drain = runtime === 'embedded' ? await benchDrain(context, DRAIN, progress) : { rows: [], failures: [] }
  const footprint = runtime === 'embedded' ? (progress('5 footprint (embedded): idle, then 60 s of sustained load'), await benchFootprint(context, FOOTPRINT)) : { rows: [], failures: [] }
  return {
    rows: [...ingest.rows, ...endToEnd.rows, ...throughput.rows, ...mixed.rows, ...drain.rows, ...footprint.rows],
    failures: [...ingest.failures, ...endToEnd.failures, ...throughput.failures, ...mixed.failures, ...drain.failures, ...footprint.failures],
    runs: throughput.runs,
  }
}

/** The AWS blocks need Java for DynamoDB Local: without it they are reported as not run (a failure), the rest still runs. */
async function awsBlocks(shared: Omit<Parameters<typeof runtimeBlocks>[1], 'emulators'>): Promise<{ rows: Row[]; failures: string[]; runs: ThroughputRun[] }> {
  progress('starting DynamoDB Local and fauxqs')
  let emulators: AwsEmulators
  try {
    emulators = await startAwsEmulators()
  } catch (error) {
    return { rows: [], failures: [`AWS blocks not run: ${(error as Error).message}`], runs: [] }
  }
  try {
    return await runtimeBlocks('aws', { ...shared, emulators })
  } finally {
    await emulators.stop()
  }
}

async function main(): Promise<Report> {
  const dir = mkdtempSync(join(tmpdir(), 'hookferry-bench-'))
  const [floor, onPrem] = await Promise.all([forkReady('./floor-server.ts'), startOnPrem()])
  try {
    const config = writeCloudConfig(dir)
    const bareNodeRssMb = summarize((await bareNodeRss()).map((bytes) => bytes / MB)).median
    const shared = { config, onPrem, floor, dir, bareNodeRssMb }
    const embedded = await runtimeBlocks('embedded', shared)
    const aws = await awsBlocks(shared)
    const coldStart = await benchColdStart({ dir, imports: COLD_IMPORTS, progress })
    const dashboard = await benchDashboard(progress)
    const databaseSinks = await benchSqlSinks(progress)
    const syncBackfill = await benchSyncBackfill({ dir, records: BACKFILL_RECORDS })
    progress('6 cost')
    const rows = [...embedded.rows, ...aws.rows, ...coldStart, ...costRows(aws.runs), ...dashboard.rows, ...databaseSinks.rows, ...syncBackfill.rows].sort((a, b) => a.block.localeCompare(b.block, 'en', { numeric: true }))
    return { rows, notes: NOTES, failures: [...embedded.failures, ...aws.failures, ...dashboard.failures, ...databaseSinks.failures, ...syncBackfill.failures] }
  } finally {
    await Promise.all([floor.stop(), onPrem.close()])
    rmSync(dir, { recursive: true, force: true })
  }
}

const json = process.argv.includes('--json')
const startedAt = performance.now()
const report = await main()
const machine = { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', seconds: Math.round((performance.now() - startedAt) / 1000) }
if (json) {
  process.stdout.write(`${JSON.stringify({ machine, prices: PRICES, ...report }, null, 2)}\n`)
} else {
  console.log(`hookferry bench — Node ${machine.node}, ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.seconds} s\n`)
  console.log(renderTable(report.rows))
  console.log(`\n${report.notes.join('\n')}`)
  for (const failure of report.failures) console.log(`FAILED: ${failure}`)
}
process.exitCode = report.failures.length > 0 ? 1 : 0

/**
 * `node test/bench/aws-cost-run.ts [concurrency…]`: only the AWS half of blocks 3 and 6 — the
 * throughput runs on the AWS adapters (fauxqs + DynamoDB Local) and the cost model computed from
 * what they counted — plus where the DynamoDB units went: calls and units per webhook by API
 * action and item kind. About a minute instead of the whole `npm run bench`; the figures are the
 * same model's (test/bench/cost-block.ts), from the same blocks.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAwsEmulators } from './aws-emulators.ts'
import { costRows } from './cost-block.ts'
import { warmUp } from './ingest-block.ts'
import { bareNodeRss, forkReady } from './processes.ts'
import { progress, renderTable } from './report.ts'
import { startCloud, startOnPrem, writeCloudConfig } from './stack.ts'
import { summarize } from './stats.ts'
import { benchThroughput } from './throughput-block.ts'

const WARM_UP_IN_MS = 10_000
const MB = 1024 * 1024
const concurrencies = process.argv.slice(2).map(Number)
if (concurrencies.some((value) => !Number.isInteger(value) || value < 1)) throw new Error('usage: aws-cost-run.ts [concurrency…] (positive integers)')

const dir = mkdtempSync(join(tmpdir(), 'hookferry-aws-cost-'))
const [floor, onPrem, emulators] = await Promise.all([forkReady('./floor-server.ts'), startOnPrem(), startAwsEmulators()])
try {
  const config = writeCloudConfig(dir)
  const bareNodeRssMb = summarize((await bareNodeRss()).map((bytes) => bytes / MB)).median
  const newCloud = async () => startCloud('aws', config, dir, await emulators.freshResources())
  progress('warming up DynamoDB Local (JIT)')
  const warm = await newCloud()
  await warmUp(warm.url, config.verify, WARM_UP_IN_MS).finally(() => warm.stop())
  const context = { runtime: 'aws' as const, newCloud, config, onPrem, floorUrl: floor.url, bareNodeRssMb, dir }
  const settings = { concurrencies: concurrencies.length > 0 ? concurrencies : [1, 8, 32], warmupMs: 1_000, windowMs: 4_000, senders: 8 }
  const throughput = await benchThroughput(context, settings, progress)
  console.log(renderTable([...throughput.rows, ...costRows(throughput.runs)]))
  for (const run of throughput.runs) {
    if (!run.stats) continue
    const perWebhook = (value: number) => (value / run.webhooks).toFixed(3)
    console.log(`\nDynamoDB per webhook, agent concurrency ${run.concurrency} (${run.webhooks} webhooks):`)
    const kinds = Object.entries(run.stats.calls.byKind).sort(([, a], [, b]) => b.writeUnits - a.writeUnits || b.readUnits - a.readUnits)
    for (const [kind, usage] of kinds) console.log(`  ${kind.padEnd(48)} calls ${perWebhook(usage.calls).padStart(6)}  WRU ${perWebhook(usage.writeUnits).padStart(6)}  RRU ${perWebhook(usage.readUnits).padStart(6)}`)
    console.log(`  ${'total'.padEnd(48)} ${' '.repeat(12)}  WRU ${perWebhook(run.stats.calls.writeUnits).padStart(6)}  RRU ${perWebhook(run.stats.calls.readUnits).padStart(6)}`)
    const invocations = Object.entries(run.stats.functions).map(([fn, usage]) => `${fn} ${perWebhook(usage.invocations)}`).join(', ')
    console.log(`  invocations per webhook: ${invocations}`)
  }
  for (const failure of throughput.failures) console.log(`FAILED: ${failure}`)
  process.exitCode = throughput.failures.length > 0 ? 1 : 0
} finally {
  await Promise.all([floor.stop(), onPrem.close(), emulators.stop()])
  rmSync(dir, { recursive: true, force: true })
}

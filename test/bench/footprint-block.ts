/**
 * Block 5, footprint: the RSS of `hookferry agent` (the build users run, see AGENT_BUILD in
 * stack.ts) idle and long-polling, then under sustained load, sampled once a second, with the
 * slope of a least-squares line through those samples: an agent that leaks shows up as MB/min
 * even when its median looks fine. The records/s delivered meanwhile are printed too, so that a
 * memory lever that costs throughput shows in the same run.
 *
 * Alone: `node test/bench/footprint-block.ts [--seconds 60] [--concurrency 32] [--node-arg=--flag …]`
 * (embedded cloud; prints the table, and every sample on stderr; `--keep` keeps the folder with the agent's log).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { MB, newRecordId, webhooksTo, type EndToEndContext } from './end-to-end-block.ts'
import { bareNodeRss, forkReady, rssBytes, sampleRss } from './processes.ts'
import { progress, renderTable, row, valueRow, type Row } from './report.ts'
import { AGENT_BUILD, startAgentProcess, startCloud, startOnPrem, writeCloudConfig } from './stack.ts'
import { bucketRates, sleep, summarize } from './stats.ts'

const IDLE_SETTLE_IN_MS = 1_000
const IDLE_SAMPLING_IN_MS = 1_000
const RATE_BUCKET_IN_MS = 1_000
const DRAIN_TIMEOUT_IN_MS = 30_000

export interface FootprintSettings {
  concurrency: number
  /** Webhook senders keeping the agent's backlog full. */
  senders: number
  /** Load before the first sample: the agent's pools and JIT warm up. */
  warmupMs: number
  /** The sustained window, sampled every `sampleEveryMs`. */
  durationMs: number
  sampleEveryMs: number
  /** Passed to the agent's node (A/B of V8 flags). */
  nodeArgs?: string[]
}

/** MB per minute of the least-squares line through (time, RSS) samples taken `everyMs` apart. */
export function slopeMbPerMinute(samplesMb: readonly number[], everyMs: number): number {
  const count = samplesMb.length
  if (count < 2) return Number.NaN
  const minutes = samplesMb.map((_, index) => (index * everyMs) / 60_000)
  const meanX = minutes.reduce((sum, x) => sum + x, 0) / count
  const meanY = samplesMb.reduce((sum, y) => sum + y, 0) / count
  let covariance = 0
  let variance = 0
  for (let index = 0; index < count; index += 1) {
    covariance += (minutes[index]! - meanX) * (samplesMb[index]! - meanY)
    variance += (minutes[index]! - meanX) ** 2
  }
  return covariance / variance
}

export interface FootprintResult {
  rows: Row[]
  failures: string[]
  idleMb: number[]
  loadMb: number[]
}

export async function benchFootprint(context: EndToEndContext, settings: FootprintSettings): Promise<FootprintResult> {
  const { runtime, config, onPrem, dir, bareNodeRssMb } = context
  const { concurrency } = settings
  const cloud = await context.newCloud()
  const webhooks = webhooksTo(cloud, context, settings.senders)
  const agent = await startAgentProcess({ cloud, config, onPrem, concurrency, dir, ...(settings.nodeArgs ? { nodeArgs: settings.nodeArgs } : {}) })
  const backlogTarget = Math.max(40, concurrency * 4)
  const accepted: string[] = []
  let rejected = 0
  const deliveredBefore = onPrem.deliveredAt.length
  const loadMb: number[] = []
  let idleMb: number[]
  let windowStart = 0
  let windowEnd = 0
  try {
    await sleep(IDLE_SETTLE_IN_MS)
    const idle = sampleRss(agent.pid)
    await sleep(IDLE_SAMPLING_IN_MS)
    idleMb = idle.stop().map((bytes) => bytes / MB)
    windowStart = performance.now() + settings.warmupMs
    windowEnd = windowStart + settings.durationMs
    // One sample a second on the second: the first at the window's start, the last at its end.
    const sampling = (async () => {
      for (let at = windowStart; at <= windowEnd + 1; at += settings.sampleEveryMs) {
        await sleep(Math.max(0, at - performance.now()))
        loadMb.push(rssBytes(agent.pid) / MB)
      }
    })()
    await Promise.all(
      Array.from({ length: settings.senders }, async () => {
        while (performance.now() < windowEnd) {
          if (accepted.length - (onPrem.deliveredAt.length - deliveredBefore) >= backlogTarget) {
            await sleep(2)
            continue
          }
          const id = newRecordId(`footprint-${runtime}`)
          if (await webhooks.send(id)) accepted.push(id)
          else rejected += 1
        }
      }),
    )
    await sampling
    const drainDeadline = performance.now() + DRAIN_TIMEOUT_IN_MS
    while (accepted.some((id) => !onPrem.deliveries.has(id)) && performance.now() < drainDeadline) await sleep(50)
  } finally {
    await agent.stop()
    await Promise.all([webhooks.close(), cloud.stop()])
  }
  const lost = accepted.filter((id) => !onPrem.deliveries.has(id)).length
  const failures = lost > 0 || rejected > 0 ? [`footprint (${runtime}): ${lost} lost, ${rejected} not accepted of ${accepted.length} webhooks`] : []
  const seconds = Math.round(settings.durationMs / 1000)
  const block = '5 footprint'
  const build = AGENT_BUILD === 'compiled' ? 'compiled agent' : 'agent from the checkout'
  const load = summarize(loadMb)
  const rates = summarize(bucketRates(onPrem.deliveredAt.slice(deliveredBefore), windowStart, windowEnd, RATE_BUCKET_IN_MS))
  return {
    rows: [
      row({ block, runtime, figure: `${build} RSS, idle (long-polling, concurrency ${concurrency})`, unit: 'MB' }, summarize(idleMb), { floor: bareNodeRssMb }),
      row({ block, runtime, figure: `${build} RSS, ${seconds} s sustained load, concurrency ${concurrency} (p99 = highest of ${loadMb.length} samples, 1/s)`, unit: 'MB' }, load, { floor: bareNodeRssMb }),
      valueRow({ block, runtime, figure: `${build} RSS slope over those ${seconds} s (least squares; flat is 0)`, unit: 'MB/min' }, slopeMbPerMinute(loadMb, settings.sampleEveryMs)),
      row({ block, runtime, figure: `records/s delivered meanwhile (lost ${lost})`, unit: 'records/s' }, rates, { rate: true }),
    ],
    failures,
    idleMb,
    loadMb,
  }
}

/** `node test/bench/footprint-block.ts`: this block alone on the embedded cloud. */
async function runAlone(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, concurrency: { type: 'string', default: '32' }, 'node-arg': { type: 'string', multiple: true, default: [] }, keep: { type: 'boolean', default: false } } })
  const dir = mkdtempSync(join(tmpdir(), 'hookferry-footprint-'))
  const [floor, onPrem] = await Promise.all([forkReady('./floor-server.ts'), startOnPrem()])
  try {
    const config = writeCloudConfig(dir)
    const bareNodeRssMb = summarize((await bareNodeRss()).map((bytes) => bytes / MB)).median
    const context: EndToEndContext = { runtime: 'embedded', newCloud: () => startCloud('embedded', config, dir), config, onPrem, floorUrl: floor.url, bareNodeRssMb, dir }
    progress(`5 footprint (${AGENT_BUILD}${values['node-arg'].length > 0 ? `, node ${values['node-arg'].join(' ')}` : ''})`)
    const result = await benchFootprint(context, { concurrency: Number(values.concurrency), senders: 8, warmupMs: 2_000, durationMs: Number(values.seconds) * 1000, sampleEveryMs: 1_000, nodeArgs: values['node-arg'] })
    progress(`idle MB: ${result.idleMb.map((mb) => mb.toFixed(1)).join(' ')}`)
    progress(`load MB: ${result.loadMb.map((mb) => mb.toFixed(1)).join(' ')}`)
    console.log(renderTable(result.rows))
    for (const failure of result.failures) console.log(`FAILED: ${failure}`)
  } finally {
    await Promise.all([floor.stop(), onPrem.close()])
    if (values.keep) progress(`kept ${dir} (the agent's log is there)`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.filename === process.argv[1]) await runAlone()

import { floorRoundTrips, MB, newRecordId, webhooksTo, type EndToEndContext } from './end-to-end-block.ts'
import { sampleRss } from './processes.ts'
import { row, type Row } from './report.ts'
import { startAgentProcess, type CloudStats } from './stack.ts'
import { bucketRates, sleep, summarize } from './stats.ts'

const RATE_BUCKET_IN_MS = 500
const DRAIN_TIMEOUT_IN_MS = 30_000
/** After the last first delivery, how long a late redelivery (a duplicate) gets to show up. */
const DUPLICATE_GRACE_IN_MS = 200
const FLOOR_WINDOW_IN_MS = 2_000

export interface ThroughputSettings {
  concurrencies: number[]
  /** Untimed start of each run (agent warming up, backlog filling), then the measured window. */
  warmupMs: number
  windowMs: number
  /** Webhook senders keeping the agent's backlog filled. */
  senders: number
}

/** One run at one concurrency: how many webhooks it carried, and (AWS) what the cloud counted meanwhile. */
export interface ThroughputRun {
  concurrency: number
  webhooks: number
  stats?: CloudStats
}

/**
 * Block 3 (and the loaded half of block 5): records/s delivered end to end by one agent at each
 * concurrency, for a fixed window, the backlog kept full by concurrent senders; then every
 * accepted webhook must reach the sink exactly once (lost and duplicated are counted).
 */
export async function benchThroughput(context: EndToEndContext, settings: ThroughputSettings, progress: (line: string) => void): Promise<{ rows: Row[]; failures: string[]; runs: ThroughputRun[] }> {
  const { runtime, config, onPrem, dir } = context
  const rows: Row[] = []
  const failures: string[] = []
  const runs: ThroughputRun[] = []
  for (const concurrency of settings.concurrencies) {
    progress(`3 throughput (${runtime}): agent concurrency ${concurrency}`)
    const cloud = await context.newCloud()
    const webhooks = webhooksTo(cloud, context, settings.senders)
    const agent = await startAgentProcess({ cloud, config, onPrem, concurrency, dir })
    await cloud.stats?.()
    const backlogTarget = Math.max(40, concurrency * 4)
    const acceptedIds: string[] = []
    let rejected = 0
    const deliveredBefore = onPrem.deliveredAt.length
    const windowStart = performance.now() + settings.warmupMs
    const windowEnd = windowStart + settings.windowMs
    let sampler: ReturnType<typeof sampleRss> | undefined
    const startSampling = setTimeout(() => (sampler = sampleRss(agent.pid)), settings.warmupMs)
    let stats: CloudStats | undefined
    try {
      await Promise.all(
        Array.from({ length: settings.senders }, async () => {
          while (performance.now() < windowEnd) {
            if (acceptedIds.length - (onPrem.deliveredAt.length - deliveredBefore) >= backlogTarget) {
              await sleep(2)
              continue
            }
            const id = newRecordId(`tp-${runtime}-${concurrency}`)
            if (await webhooks.send(id)) acceptedIds.push(id)
            else rejected += 1
          }
        }),
      )
      const drainDeadline = performance.now() + DRAIN_TIMEOUT_IN_MS
      while (acceptedIds.some((id) => !onPrem.deliveries.has(id)) && performance.now() < drainDeadline) await sleep(50)
      await sleep(DUPLICATE_GRACE_IN_MS)
      stats = await cloud.stats?.()
    } finally {
      clearTimeout(startSampling)
      await agent.stop()
      await Promise.all([webhooks.close(), cloud.stop()])
    }
    const loadRss = summarize((sampler?.stop() ?? []).map((bytes) => bytes / MB))

    const lost = acceptedIds.filter((id) => !onPrem.deliveries.has(id)).length
    const duplicates = acceptedIds.reduce((sum, id) => sum + Math.max(0, (onPrem.deliveries.get(id) ?? 0) - 1), 0)
    if (lost > 0 || duplicates > 0 || rejected > 0) failures.push(`throughput (${runtime}, concurrency ${concurrency}): ${lost} lost, ${duplicates} duplicated, ${rejected} not accepted of ${acceptedIds.length} webhooks`)
    runs.push({ concurrency, webhooks: acceptedIds.length, ...(stats ? { stats } : {}) })

    const floorStart = performance.now()
    const floorRounds = (await floorRoundTrips(context.floorUrl, config.verify, concurrency, () => performance.now() >= floorStart + FLOOR_WINDOW_IN_MS)).length
    const floorRate = (floorRounds * 1000) / (performance.now() - floorStart)
    const rates = summarize(bucketRates(onPrem.deliveredAt.slice(deliveredBefore), windowStart, windowEnd, RATE_BUCKET_IN_MS))
    rows.push(row({ block: '3 throughput', runtime, figure: `records/s, agent concurrency ${concurrency} (lost ${lost}, dup ${duplicates})`, unit: 'records/s' }, rates, { rate: true, floor: floorRate }))
    // Embedded: block 5 samples 60 s of load instead (a 4 s window hides a climb).
    if (runtime === 'aws' && concurrency === Math.max(...settings.concurrencies)) {
      rows.push(row({ block: '5 footprint', runtime, figure: `agent RSS under load, concurrency ${concurrency}`, unit: 'MB' }, loadRss, { floor: context.bareNodeRssMb }))
    }
  }
  return { rows, failures, runs }
}

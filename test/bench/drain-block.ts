import { readFileSync } from 'node:fs'
import type { VerifyConfig } from '../../lib/config/server-config.ts'
import { newRecordId, webhooksTo, type EndToEndContext } from './end-to-end-block.ts'
import { row, valueRow, type Row } from './report.ts'
import { startAgentProcess } from './stack.ts'
import { bucketRates, sleep, summarize } from './stats.ts'
import { WebhookSender } from './webhook-sender.ts'

const RATE_BUCKET_IN_MS = 250
const DRAIN_TIMEOUT_IN_MS = 60_000
const DUPLICATE_GRACE_IN_MS = 300
const FILL_SENDERS = 16
const FLOOR_WINDOW_IN_MS = 1_500

export interface DrainSettings {
  /** Webhooks accepted before the agent starts. */
  backlog: number
  concurrencies: number[]
}

/**
 * Block 3, drain: how fast ONE agent empties a backlog, ingest idle. The backlog is accepted
 * first (distinct records, so nothing coalesces), then `hookferry agent` starts and the rate is
 * taken between its first and its last delivery: the agent's own limit (pull, fetch, deliver,
 * ack), not the senders'. Every accepted webhook must reach the sink exactly once. The floor is
 * as many workers as the concurrency doing the fetch and the delivery alone (two loopback round
 * trips per record, against the same kind of server).
 */
export async function benchDrain(context: EndToEndContext, settings: DrainSettings, progress: (line: string) => void): Promise<{ rows: Row[]; failures: string[] }> {
  const { runtime, config, onPrem, dir } = context
  const rows: Row[] = []
  const failures: string[] = []
  for (const concurrency of settings.concurrencies) {
    progress(`3 drain (${runtime}): ${settings.backlog} webhooks, then one agent at concurrency ${concurrency}`)
    const cloud = await context.newCloud()
    const webhooks = webhooksTo(cloud, context, FILL_SENDERS)
    const ids: string[] = []
    let rejected = 0
    let agentCpuMs: number | undefined
    const deliveredBefore = onPrem.deliveredAt.length
    try {
      let next = 0
      await Promise.all(
        Array.from({ length: FILL_SENDERS }, async () => {
          while (next < settings.backlog) {
            next += 1
            const id = newRecordId(`drain-${runtime}-${concurrency}`)
            if (await webhooks.send(id)) ids.push(id)
            else rejected += 1
          }
        }),
      )
      const agent = await startAgentProcess({ cloud, config, onPrem, concurrency, dir })
      try {
        const cpuBefore = cpuMs(agent.pid)
        const deadline = performance.now() + DRAIN_TIMEOUT_IN_MS
        while (onPrem.deliveredAt.length - deliveredBefore < ids.length && performance.now() < deadline) await sleep(20)
        agentCpuMs = cpuMs(agent.pid) - cpuBefore
        await sleep(DUPLICATE_GRACE_IN_MS)
      } finally {
        await agent.stop()
      }
    } finally {
      await Promise.all([webhooks.close(), cloud.stop()])
    }
    const times = onPrem.deliveredAt.slice(deliveredBefore)
    const lost = ids.filter((id) => !onPrem.deliveries.has(id)).length
    const duplicates = ids.reduce((sum, id) => sum + Math.max(0, (onPrem.deliveries.get(id) ?? 0) - 1), 0)
    if (lost > 0 || duplicates > 0 || rejected > 0) failures.push(`drain (${runtime}, concurrency ${concurrency}): ${lost} lost, ${duplicates} duplicated, ${rejected} not accepted of ${ids.length} webhooks`)
    const first = times[0] ?? 0
    const last = times.at(-1) ?? 0
    const mean = last > first ? ((times.length - 1) * 1000) / (last - first) : Number.NaN
    const rates = summarize(bucketRates(times, first, last, RATE_BUCKET_IN_MS))
    const floorStart = performance.now()
    const floorRounds = await floorRecords(context.floorUrl, config.verify, concurrency, floorStart + FLOOR_WINDOW_IN_MS)
    const floorRate = (floorRounds * 1000) / (performance.now() - floorStart)
    rows.push(
      row(
        { block: '3 throughput', runtime, figure: `drain: records/s, ${ids.length} queued, one agent at concurrency ${concurrency} (mean ${Math.round(mean)}; lost ${lost}, dup ${duplicates})`, unit: 'records/s' },
        rates,
        { rate: true, floor: floorRate },
      ),
      // CPU time is what a busy machine distorts least: the agent's own cost per record.
      valueRow({ block: '3 throughput', runtime, figure: `drain: agent CPU per record, concurrency ${concurrency} (user + system)`, unit: 'ms' }, (agentCpuMs ?? Number.NaN) / Math.max(1, times.length)),
    )
  }
  return { rows, failures }
}

/** Records the floor "agent" carries by `until`: `workers` loops of two sequential loopback round trips (fetch, deliver). */
async function floorRecords(floorUrl: string, verify: VerifyConfig, workers: number, until: number): Promise<number> {
  const sender = new WebhookSender({ url: floorUrl, source: 'floor', verify, connections: workers * 2 })
  let records = 0
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < until) {
        await sender.send(newRecordId('floor'))
        await sender.send(newRecordId('floor'))
        records += 1
      }
    }),
  )
  await sender.close()
  return records
}

/** CPU time (user + system, ms) a process has used so far: /proc/<pid>/stat, in clock ticks of 10 ms. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

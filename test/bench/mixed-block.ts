import { newRecordId, webhooksTo, type EndToEndContext } from './end-to-end-block.ts'
import { row, type Row } from './report.ts'
import { startAgentProcess } from './stack.ts'
import { bucketRates, sleep, summarize } from './stats.ts'

const RATE_BUCKET_IN_MS = 500

export interface MixedSettings {
  concurrency: number
  /** Senders of the saturating phase (as many as block 1's sustained rate). */
  senders: number
  warmupMs: number
  windowMs: number
}

/**
 * Block 3, mixed: does the agent starve while ingest is busy? One cloud, one agent, two windows
 * back to back: first the agent drains a backlog kept just full by throttled senders (its
 * unloaded rate), then `senders` send webhooks as fast as the server answers (ingest saturated)
 * while the same agent drains. Prints both drain rates and the ingest rate of the second window;
 * the target is a loaded drain rate of at least half the unloaded one.
 */
export async function benchMixed(context: EndToEndContext, settings: MixedSettings): Promise<{ rows: Row[]; failures: string[] }> {
  const { runtime, config, onPrem, dir } = context
  const cloud = await context.newCloud()
  const webhooks = webhooksTo(cloud, context, settings.senders)
  const agent = await startAgentProcess({ cloud, config, onPrem, concurrency: settings.concurrency, dir })
  const backlogTarget = Math.max(40, settings.concurrency * 4)
  const accepted: string[] = []
  const acceptedAt: number[] = []
  let rejected = 0
  const delivered = () => accepted.filter((id) => onPrem.deliveries.has(id)).length
  const deliveredBefore = onPrem.deliveredAt.length
  const send = async (throttled: boolean, endAt: number): Promise<void> => {
    while (performance.now() < endAt) {
      if (throttled && accepted.length - (onPrem.deliveredAt.length - deliveredBefore) >= backlogTarget) {
        await sleep(2)
        continue
      }
      const id = newRecordId(`mixed-${runtime}`)
      if (await webhooks.send(id)) {
        accepted.push(id)
        acceptedAt.push(performance.now())
      } else rejected += 1
    }
  }
  const unloadedStart = performance.now() + settings.warmupMs
  const unloadedEnd = unloadedStart + settings.windowMs
  const loadedEnd = unloadedEnd + settings.windowMs
  try {
    await Promise.all(Array.from({ length: settings.senders }, () => send(true, unloadedEnd)))
    await Promise.all(Array.from({ length: settings.senders }, () => send(false, loadedEnd)))
  } finally {
    await agent.stop()
    await Promise.all([webhooks.close(), cloud.stop()])
  }
  const drainedAt = onPrem.deliveredAt.slice(deliveredBefore)
  const unloaded = summarize(bucketRates(drainedAt, unloadedStart, unloadedEnd, RATE_BUCKET_IN_MS))
  const loaded = summarize(bucketRates(drainedAt, unloadedEnd, loadedEnd, RATE_BUCKET_IN_MS))
  const ingest = summarize(bucketRates(acceptedAt, unloadedEnd, loadedEnd, RATE_BUCKET_IN_MS))
  const block = '3 throughput'
  const failures = rejected > 0 ? [`mixed (${runtime}): ${rejected} webhooks not accepted (${delivered()} of ${accepted.length} delivered before the agent stopped)`] : []
  return {
    rows: [
      row({ block, runtime, figure: `mixed: records/s drained, concurrency ${settings.concurrency}, ingest idle (unloaded)`, unit: 'records/s' }, unloaded, { rate: true }),
      row({ block, runtime, figure: `mixed: records/s drained while ${settings.senders} senders saturate ingest (floor: unloaded, target ≥ 0.5×)`, unit: 'records/s' }, loaded, { rate: true, floor: unloaded.median }),
      row({ block, runtime, figure: `mixed: webhooks/s accepted meanwhile`, unit: 'webhooks/s' }, ingest, { rate: true }),
    ],
    failures,
  }
}

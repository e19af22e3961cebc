import type { VerifyConfig } from '../../lib/config/server-config.ts'
import { row, type Row } from './report.ts'
import { type Cloud, type CloudConfig, type OnPrem, type Runtime, SOURCE, startAgentProcess } from './stack.ts'
import { sleep, summarize } from './stats.ts'
import { WebhookSender } from './webhook-sender.ts'

/**
 * The HTTP exchanges on the path from a webhook to the sink, with an agent already long-polling:
 * webhook → 202, the pending pull answered, GET of the record from the SaaS API, PUT to the sink.
 * The floor is that many sequential loopback round trips, timed in the same run.
 */
export const PATH_ROUND_TRIPS = 4
/** The agent's first long poll is in place before the first webhook. */
const IDLE_SETTLE_IN_MS = 500
/** Between samples: the ack lands and the next long poll starts, so each sample starts from an idle agent. */
const SAMPLE_GAP_IN_MS = 20
export const MB = 1024 * 1024

/** What the end-to-end blocks share. */
export interface EndToEndContext {
  runtime: Runtime
  /**
   * A new, empty cloud for each agent run. Not one cloud for all: a stopped agent's long poll
   * keeps running in the cloud (as a Lambda does after API Gateway's client has gone) and would
   * lease the next run's first record for a whole lease: recovered, but a minute late.
   */
  newCloud: () => Promise<Cloud>
  config: CloudConfig
  onPrem: OnPrem
  floorUrl: string
  /** RSS of a bare node process (MB): the footprint floor. */
  bareNodeRssMb: number
  dir: string
}

let recordSeq = 0
/** A record id no other webhook of this run uses, so nothing coalesces. */
export const newRecordId = (prefix: string): string => `${prefix}-${(recordSeq += 1)}`

/** Sends signed webhooks to `cloud` for records it first makes available in the fake SaaS API. */
export function webhooksTo(cloud: Cloud, context: EndToEndContext, connections: number): { send(id: string): Promise<boolean>; close(): Promise<void> } {
  const sender = new WebhookSender({ url: cloud.url, source: SOURCE, verify: context.config.verify, connections })
  return {
    send: async (id) => {
      context.onPrem.addRecord(id)
      return (await sender.send(id)).status === 202
    },
    close: () => sender.close(),
  }
}

/** Runs `workers` loops of PATH_ROUND_TRIPS sequential requests to the floor server until `done`; returns each loop's duration. */
export async function floorRoundTrips(floorUrl: string, verify: VerifyConfig, workers: number, done: (rounds: number) => boolean): Promise<number[]> {
  const sender = new WebhookSender({ url: floorUrl, source: SOURCE, verify, connections: workers })
  const durations: number[] = []
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!done(durations.length)) {
        const startedAt = performance.now()
        for (let trip = 0; trip < PATH_ROUND_TRIPS; trip += 1) await sender.send(newRecordId('floor'))
        durations.push(performance.now() - startedAt)
      }
    }),
  )
  await sender.close()
  return durations
}

/**
 * Block 2: `hookferry agent` in its own process, at its default concurrency, idle and
 * long-polling; then webhook sent → record at the sink, one at a time. (The agent's RSS is
 * block 5's, footprint-block.ts.)
 */
export async function benchEndToEnd(context: EndToEndContext, { samples, warmup }: { samples: number; warmup: number }): Promise<{ rows: Row[]; failures: string[] }> {
  const { runtime, config, onPrem, floorUrl, dir } = context
  const failures: string[] = []
  const cloud = await context.newCloud()
  const webhooks = webhooksTo(cloud, context, 1)
  const agent = await startAgentProcess({ cloud, config, onPrem, concurrency: 4, dir })
  const latencies: number[] = []
  try {
    await sleep(IDLE_SETTLE_IN_MS)
    for (let index = 0; index < warmup + samples; index += 1) {
      const id = newRecordId(`e2e-${runtime}`)
      const delivered = onPrem.delivered(id)
      const startedAt = performance.now()
      const [accepted, deliveredAt] = await Promise.all([webhooks.send(id), delivered])
      if (!accepted) failures.push(`end to end (${runtime}): the webhook for ${id} was not accepted`)
      if (index >= warmup) latencies.push(deliveredAt - startedAt)
      await sleep(SAMPLE_GAP_IN_MS)
    }
  } finally {
    await agent.stop()
    await Promise.all([webhooks.close(), cloud.stop()])
  }
  const floor = summarize(await floorRoundTrips(floorUrl, config.verify, 1, (rounds) => rounds >= samples))
  return {
    rows: [
      row({ block: '2 end to end', runtime, figure: 'webhook sent → record at sink', unit: 'ms' }, summarize(latencies), { floor: floor.median }),
    ],
    failures,
  }
}

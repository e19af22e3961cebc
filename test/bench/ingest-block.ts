import type { VerifyConfig } from '../../lib/config/server-config.ts'
import { row, type Row } from './report.ts'
import type { Runtime } from './stack.ts'
import { SOURCE } from './stack.ts'
import { bucketRates, summarize, type Summary } from './stats.ts'
import { WebhookSender } from './webhook-sender.ts'

export interface IngestSettings {
  /** Sequential webhooks timed one by one (after `warmup` untimed ones). */
  sequential: number
  warmup: number
  /** Concurrent senders and how long they send, for the sustained rate. */
  senders: number
  durationMs: number
}

const RATE_BUCKET_IN_MS = 250

interface IngestFigures {
  latency: Summary
  rate: Summary
  loadedLatency: Summary
  errors: number
}

let recordSeq = 0
const nextRecordId = (prefix: string) => `${prefix}-${(recordSeq += 1)}`

/** Latency of one sender, then the sustained rate of `senders` concurrent ones (and their latency under that load). */
async function measureIngest(url: string, verify: VerifyConfig, settings: IngestSettings, prefix: string): Promise<IngestFigures> {
  let errors = 0
  const one = new WebhookSender({ url, source: SOURCE, verify, connections: 1 })
  const latencies: number[] = []
  for (let index = 0; index < settings.warmup + settings.sequential; index += 1) {
    const result = await one.send(nextRecordId(prefix))
    if (result.status !== 202) errors += 1
    if (index >= settings.warmup) latencies.push(result.ms)
  }
  await one.close()

  const many = new WebhookSender({ url, source: SOURCE, verify, connections: settings.senders })
  const doneAt: number[] = []
  const loaded: number[] = []
  const startedAt = performance.now()
  const endAt = startedAt + settings.durationMs
  await Promise.all(
    Array.from({ length: settings.senders }, async () => {
      while (performance.now() < endAt) {
        const result = await many.send(nextRecordId(prefix))
        if (result.status !== 202) errors += 1
        doneAt.push(performance.now())
        loaded.push(result.ms)
      }
    }),
  )
  await many.close()
  return { latency: summarize(latencies), rate: summarize(bucketRates(doneAt, startedAt, endAt, RATE_BUCKET_IN_MS)), loadedLatency: summarize(loaded), errors }
}

/**
 * Sends webhooks for `durationMs` and forgets them: DynamoDB Local answers about 2× slower until
 * its JVM has compiled its hot paths (a few thousand calls), which no block should measure.
 */
export async function warmUp(url: string, verify: VerifyConfig, durationMs: number): Promise<void> {
  const sender = new WebhookSender({ url, source: SOURCE, verify, connections: 8 })
  const endAt = performance.now() + durationMs
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (performance.now() < endAt) await sender.send(nextRecordId('warm-up'))
  }))
  await sender.close()
}

/**
 * Block 1: POST /hooks/{source} with signature verification on, through the cloud's HTTP front
 * over loopback, against the floor server answering 202 to the very same requests.
 */
export async function benchIngest({ runtime, url, floorUrl, verify, settings }: { runtime: Runtime; url: string; floorUrl: string; verify: VerifyConfig; settings: IngestSettings }): Promise<{ rows: Row[]; failures: string[] }> {
  const floor = await measureIngest(floorUrl, verify, settings, `floor-${runtime}`)
  const served = await measureIngest(url, verify, settings, `ingest-${runtime}`)
  const block = '1 ingest'
  const rows = [
    row({ block, runtime, figure: 'webhook → 202, 1 sender', unit: 'ms' }, served.latency, { floor: floor.latency.median }),
    row({ block, runtime, figure: `sustained rate, ${settings.senders} senders`, unit: 'webhooks/s' }, served.rate, { rate: true, floor: floor.rate.median }),
    row({ block, runtime, figure: `webhook → 202 at that rate`, unit: 'ms' }, served.loadedLatency, { floor: floor.loadedLatency.median }),
  ]
  const failures = served.errors + floor.errors > 0 ? [`ingest (${runtime}): ${served.errors} webhooks were not answered 202 (floor: ${floor.errors})`] : []
  return { rows, failures }
}

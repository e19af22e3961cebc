import { row, valueRow, type Row } from './report.ts'
import type { ThroughputRun } from './throughput-block.ts'
import { summarize } from './stats.ts'
import { ROUTES } from '../../lib/http/routes.ts'

/**
 * AWS list prices used by the cost model: us-east-1, on-demand, first pricing tier, no free tier,
 * as published in 2025 (DynamoDB on-demand after the 1 Nov 2024 price cut). Check them against
 * https://aws.amazon.com/{api-gateway,lambda,sqs,dynamodb}/pricing/ before quoting the figures.
 */
export const PRICES = {
  asOf: 'us-east-1 list prices as published in 2025 (first tier, no free tier)',
  /** HTTP API, per million requests (each request metered in 512 KB increments). */
  apiGatewayHttpPerMillion: 1.0,
  lambdaPerMillionRequests: 0.2,
  /** arm64, as sst.config.ts deploys every function. */
  lambdaArm64PerGbSecond: 0.0000133334,
  /** Standard queue, per million requests (each 64 KB chunk of a request is one). */
  sqsPerMillionRequests: 0.4,
  /** DynamoDB on-demand, per million write / read request units. */
  dynamoDbPerMillionWriteUnits: 0.625,
  dynamoDbPerMillionReadUnits: 0.125,
} as const

/** Lambda bills GB-s at each function's memory, as sst.config.ts sets it from lib/http/routes.ts. */
const DEFAULT_MEMORY_IN_MB = 1024
export const memoryGbOf = (fn: string): number => (ROUTES.find((route) => route.fn === fn)?.memoryMB ?? DEFAULT_MEMORY_IN_MB) / 1024
/** Agent defaults (lib/agent/config.ts, lib/agent/agent.ts) that set an idle agent's request rate. */
const IDLE_POLL_WAIT_IN_SECONDS = 20
const HEARTBEAT_INTERVAL_IN_SECONDS = 15
const SECONDS_PER_MONTH = 30 * 24 * 3600
const MILLION = 1_000_000

interface PerWebhook {
  apiRequests: number
  gbSeconds: number
  sqsRequests: number
  writeUnits: number
  readUnits: number
}

function perWebhook(run: ThroughputRun): PerWebhook {
  const stats = run.stats!
  const functions = Object.entries(stats.functions).filter(([fn]) => fn !== 'other')
  const invocations = functions.reduce((sum, [, usage]) => sum + usage.invocations, 0)
  const gbSeconds = functions.reduce((sum, [fn, usage]) => sum + (usage.billedMs / 1000) * memoryGbOf(fn), 0)
  const sqsRequests = Object.values(stats.calls.sqs).reduce((sum, count) => sum + count, 0)
  return {
    apiRequests: invocations / run.webhooks,
    gbSeconds: gbSeconds / run.webhooks,
    sqsRequests: sqsRequests / run.webhooks,
    writeUnits: stats.calls.writeUnits / run.webhooks,
    readUnits: stats.calls.readUnits / run.webhooks,
  }
}

/** Dollars per million webhooks, by item. */
function costs(use: PerWebhook): Record<'apiGateway' | 'lambdaRequests' | 'lambdaCompute' | 'sqs' | 'dynamoDbWrites' | 'dynamoDbReads', number> {
  return {
    apiGateway: use.apiRequests * PRICES.apiGatewayHttpPerMillion,
    lambdaRequests: use.apiRequests * PRICES.lambdaPerMillionRequests,
    lambdaCompute: use.gbSeconds * MILLION * PRICES.lambdaArm64PerGbSecond,
    sqs: use.sqsRequests * PRICES.sqsPerMillionRequests,
    dynamoDbWrites: use.writeUnits * PRICES.dynamoDbPerMillionWriteUnits,
    dynamoDbReads: use.readUnits * PRICES.dynamoDbPerMillionReadUnits,
  }
}

const total = (items: Record<string, number>): number => Object.values(items).reduce((sum, value) => sum + value, 0)

/** The least a webhook can cost on this stack: one API Gateway request to one Lambda that answers in 1 ms. */
export const COST_FLOOR_PER_MILLION = PRICES.apiGatewayHttpPerMillion + PRICES.lambdaPerMillionRequests + 0.001 * memoryGbOf('ingest') * MILLION * PRICES.lambdaArm64PerGbSecond

/**
 * Block 6: AWS cost per million webhooks from what the AWS-adapter runs of block 3 counted
 * (invocations, billed durations, SQS calls, DynamoDB units), and an idle agent's monthly cost.
 */
export function costRows(runs: readonly ThroughputRun[]): Row[] {
  const block = '6 cost'
  const counted = runs.filter((run) => run.stats && run.webhooks > 0)
  const rows = counted.map((run) =>
    valueRow({ block, runtime: 'aws', figure: `$ per 1M webhooks, agent concurrency ${run.concurrency}`, unit: '$' }, total(costs(perWebhook(run))), COST_FLOOR_PER_MILLION),
  )
  const busiest = counted.at(-1)
  if (!busiest) return rows
  const use = perWebhook(busiest)
  const items = costs(use)
  const sqs = Object.entries(busiest.stats!.calls.sqs).map(([action, count]) => `${action} ${(count / busiest.webhooks).toFixed(2)}`).join(', ')
  const at = `c=${busiest.concurrency}`
  rows.push(
    valueRow({ block, runtime: 'aws', figure: `API Gateway, ${use.apiRequests.toFixed(2)} req/webhook (${at})`, unit: '$' }, items.apiGateway),
    valueRow({ block, runtime: 'aws', figure: `Lambda requests, ${use.apiRequests.toFixed(2)}/webhook`, unit: '$' }, items.lambdaRequests),
    valueRow({ block, runtime: 'aws', figure: `Lambda compute, ${(use.gbSeconds * 1000).toFixed(1)} GB-ms/webhook (memory per function from lib/http/routes.ts, arm64)`, unit: '$' }, items.lambdaCompute),
    valueRow({ block, runtime: 'aws', figure: `SQS, ${use.sqsRequests.toFixed(2)} req/webhook (${sqs})`, unit: '$' }, items.sqs),
    valueRow({ block, runtime: 'aws', figure: `DynamoDB, ${use.writeUnits.toFixed(1)} WRU/webhook`, unit: '$' }, items.dynamoDbWrites),
    valueRow({ block, runtime: 'aws', figure: `DynamoDB, ${use.readUnits.toFixed(1)} RRU/webhook`, unit: '$' }, items.dynamoDbReads),
  )
  // Where the write units go, by API action and item kind (aws-call-counter.ts).
  const kinds = Object.entries(busiest.stats!.calls.byKind)
    .filter(([, usage]) => usage.writeUnits / busiest.webhooks >= 0.05)
    .sort(([, a], [, b]) => b.writeUnits - a.writeUnits)
  for (const [kind, usage] of kinds) {
    const perWebhook = (value: number) => (value / busiest.webhooks).toFixed(2)
    rows.push(valueRow({ block, runtime: 'aws', figure: `  of which ${kind}: ${perWebhook(usage.calls)} calls, ${perWebhook(usage.writeUnits)} WRU/webhook`, unit: '$' }, (usage.writeUnits / busiest.webhooks) * PRICES.dynamoDbPerMillionWriteUnits))
  }
  for (const fn of ['ingest', 'agent-pull', 'agent-ack']) {
    const usage = busiest.stats!.functions[fn]
    if (usage) rows.push(row({ block, runtime: 'aws', figure: `${fn} duration (${usage.invocations} invocations, ${at})`, unit: 'ms' }, summarize(usage.durationsMs)))
  }
  rows.push(valueRow({ block, runtime: 'aws', figure: `idle agent per month (a ${IDLE_POLL_WAIT_IN_SECONDS} s long poll billed in full at ${memoryGbOf('agent-pull') * 1024} MB)`, unit: '$' }, idleAgentPerMonth()))
  return rows
}

/**
 * An idle agent: one pull per poll wait, each a Lambda that waits out the SQS long poll (billed
 * for the wait), one ReceiveMessage per pull; one heartbeat per interval (1 WRU, ~1 ms billed).
 */
export function idleAgentPerMonth(): number {
  const pulls = SECONDS_PER_MONTH / IDLE_POLL_WAIT_IN_SECONDS
  const heartbeats = SECONDS_PER_MONTH / HEARTBEAT_INTERVAL_IN_SECONDS
  const requests = pulls + heartbeats
  const gbSeconds = pulls * IDLE_POLL_WAIT_IN_SECONDS * memoryGbOf('agent-pull') + heartbeats * 0.001 * memoryGbOf('agent-heartbeat')
  return (
    (requests / MILLION) * (PRICES.apiGatewayHttpPerMillion + PRICES.lambdaPerMillionRequests) +
    gbSeconds * PRICES.lambdaArm64PerGbSecond +
    (pulls / MILLION) * PRICES.sqsPerMillionRequests +
    (heartbeats / MILLION) * PRICES.dynamoDbPerMillionWriteUnits
  )
}

import type { RelayDeps } from '../relay/deps.ts'
import type { Backlog } from './admin-api.ts'
import { measureBacklog, secondsBetween } from './backlog.ts'
import { groupDeadLetters } from './dead-letter-groups.ts'
import { scanRequests } from './scan-requests.ts'

/** The overview's window: the last hour, in one-minute buckets. */
export const OVERVIEW_MINUTES = 60

export interface OverviewResponse {
  serverTime: string
  /** Start of the first bucket (serverTime minus an hour, on a whole minute). */
  windowStart: string
  /** Webhook events received per minute, oldest minute first (OVERVIEW_MINUTES buckets). */
  webhooksPerMinute: number[]
  /** Attempts that delivered (outcome done) per minute. */
  deliveriesPerMinute: number[]
  /** Attempts that failed (retry or fail) per minute. */
  failuresPerMinute: number[]
  /** Deliveries in the window by agent id. */
  deliveriesByAgent: Record<string, number>
  backlog: Backlog
  deadLetters: number
  agents: { total: number; silent: number; silentAfterSeconds: number }
  /** A scan stopped at its cap: the figures are lower bounds. */
  truncated: boolean
}

/**
 * GET /admin/v1/overview: the dashboard's first screen. Rates come from the ledger's history of
 * the requests that changed within the hour (events and attempts carry their times), so they need
 * no separate metrics store; a request keeps its last 20 events, so a hot record is undercounted.
 */
export async function describeOverview(deps: Pick<RelayDeps, 'ledger' | 'now' | 'config'>): Promise<OverviewResponse> {
  const now = deps.now()
  const start = Math.floor(now.getTime() / 60_000) * 60_000 - (OVERVIEW_MINUTES - 1) * 60_000
  const bucketOf = (time: string | undefined): number => (time === undefined ? -1 : Math.floor((Date.parse(time) - start) / 60_000))
  const inWindow = (bucket: number) => bucket >= 0 && bucket < OVERVIEW_MINUTES
  const [recent, backlog, deadLetters, agents] = await Promise.all([
    scanRequests(deps, { since: new Date(start).toISOString() }),
    measureBacklog(deps),
    groupDeadLetters(deps),
    deps.ledger.listAgents(),
  ])
  const webhooks = new Array<number>(OVERVIEW_MINUTES).fill(0)
  const deliveries = new Array<number>(OVERVIEW_MINUTES).fill(0)
  const failures = new Array<number>(OVERVIEW_MINUTES).fill(0)
  const byAgent: Record<string, number> = {}
  for (const request of recent.requests) {
    for (const event of request.events) {
      const bucket = bucketOf(event.receivedAt)
      if (inWindow(bucket)) webhooks[bucket]! += 1
    }
    for (const attempt of request.history) {
      const bucket = bucketOf(attempt.endedAt)
      if (!inWindow(bucket)) continue
      if (attempt.outcome === 'done') {
        deliveries[bucket]! += 1
        byAgent[attempt.agentId] = (byAgent[attempt.agentId] ?? 0) + 1
      } else if (attempt.outcome === 'retry' || attempt.outcome === 'fail') failures[bucket]! += 1
    }
  }
  const silentAfterSeconds = deps.config.alerts.agentSilentSeconds
  return {
    serverTime: now.toISOString(),
    windowStart: new Date(start).toISOString(),
    webhooksPerMinute: webhooks,
    deliveriesPerMinute: deliveries,
    failuresPerMinute: failures,
    deliveriesByAgent: byAgent,
    backlog,
    deadLetters: deadLetters.total,
    agents: { total: agents.length, silent: agents.filter((agent) => secondsBetween(agent.lastHeartbeatAt, now) > silentAfterSeconds).length, silentAfterSeconds },
    truncated: recent.truncated || deadLetters.truncated || backlog.truncated,
  }
}

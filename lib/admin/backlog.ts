import type { RelayDeps } from '../relay/deps.ts'
import type { AgentStatus } from '../relay/types.ts'
import type { AgentView, AgentsResponse, Backlog } from './admin-api.ts'

const SCAN_PAGE_SIZE = 1000
/** The backlog scan reads at most this many queued requests; beyond it the numbers are lower bounds. */
export const BACKLOG_SCAN_CAP = 20_000

/** Whole seconds from an ISO time to `now` (0 when it is in the future). */
export const secondsBetween = (from: string, now: Date): number => Math.max(0, Math.floor((now.getTime() - Date.parse(from)) / 1000))

/**
 * Counts the queued requests and finds the one that has waited longest. A request waits from
 * when it was last queued or changed (updatedAt) or, after a retry, from its retry time; one
 * whose retry time is still ahead is "retrying", not waiting.
 */
export async function measureBacklog(deps: Pick<RelayDeps, 'ledger' | 'now'>): Promise<Backlog> {
  const now = deps.now()
  let queued = 0
  let retrying = 0
  let oldest: { since: string; requestId: string } | undefined
  let cursor: string | undefined
  do {
    const page = await deps.ledger.listRequests({ state: 'queued', limit: SCAN_PAGE_SIZE, ...(cursor ? { cursor } : {}) })
    for (const request of page.items) {
      queued += 1
      const since = request.nextAttemptAt ?? request.updatedAt
      if (Date.parse(since) > now.getTime()) retrying += 1
      else if (!oldest || Date.parse(since) < Date.parse(oldest.since)) oldest = { since, requestId: request.id }
    }
    cursor = page.cursor
  } while (cursor && queued < BACKLOG_SCAN_CAP)
  return {
    queued,
    retrying,
    ...(oldest ? { oldestWaitingSince: oldest.since, oldestWaitingRequestId: oldest.requestId } : {}),
    oldestWaitingAgeSeconds: oldest ? secondsBetween(oldest.since, now) : 0,
    truncated: cursor !== undefined,
  }
}

/** The agent that sent the newest heartbeat, if any ever did. */
export function newestHeartbeat(agents: readonly AgentStatus[]): AgentStatus | undefined {
  return agents.reduce<AgentStatus | undefined>((newest, agent) => (!newest || Date.parse(agent.lastHeartbeatAt) > Date.parse(newest.lastHeartbeatAt) ? agent : newest), undefined)
}

/** GET /admin/v1/agents: each agent's last heartbeat, version and in-flight count, plus the backlog. */
export async function describeAgents(deps: Pick<RelayDeps, 'ledger' | 'now'>): Promise<AgentsResponse> {
  const now = deps.now()
  const [agents, backlog] = await Promise.all([deps.ledger.listAgents(), measureBacklog(deps)])
  const views: AgentView[] = agents.map((agent) => ({ ...agent, silentSeconds: secondsBetween(agent.lastHeartbeatAt, now) }))
  return { serverTime: now.toISOString(), agents: views, backlog }
}

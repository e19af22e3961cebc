import type { RelayDeps } from '../relay/deps.ts'
import { measureBacklog, newestHeartbeat, secondsBetween } from './backlog.ts'
import { checkSyncLag, type StalledMemory } from './sync-alerts.ts'

/**
 * What AgentSilentSeconds reports when no agent has ever sent a heartbeat: far above any sane
 * threshold, so "never seen" alarms like "silent for a long time" (CloudWatch compares numbers).
 */
export const SILENT_SECONDS_WHEN_NO_AGENT = 365 * 86_400

/** Whether each alert was firing at the previous check, so a change is logged once. */
export interface AlertMemory {
  agentSilent?: boolean
  backlogOld?: boolean
  syncStalled?: StalledMemory
}

export interface AlertReport {
  agentSilentSeconds: number
  lastHeartbeatAt?: string
  oldestWaitingRequestAgeSeconds: number
  /** Firing now: silence or backlog age above its config.alerts threshold. */
  agentSilent: boolean
  backlogOld: boolean
  /** Sync jobs ("source/job") whose watermark has not moved for their alertAfterIntervals. */
  syncJobsStalled: string[]
}

// One process (the embedded server, or one Lambda container) remembers its own last state.
const processMemory: AlertMemory = {}

/**
 * The watchdog, run every minute by the repair sweep. Emits AgentSilentSeconds (every run: the
 * CloudWatch alarm treats a missing value as breaching) and OldestWaitingRequestAgeSeconds, and
 * logs a warning when a threshold is crossed and an info line when it clears.
 */
export async function checkAlerts(deps: RelayDeps, memory: AlertMemory = processMemory): Promise<AlertReport> {
  const now = deps.now()
  const thresholds = deps.config.alerts
  const [agents, backlog] = await Promise.all([deps.ledger.listAgents(), measureBacklog(deps)])
  const newest = newestHeartbeat(agents)
  const agentSilentSeconds = newest ? secondsBetween(newest.lastHeartbeatAt, now) : SILENT_SECONDS_WHEN_NO_AGENT
  deps.metrics.gauge('AgentSilentSeconds', agentSilentSeconds, 'Seconds')
  deps.metrics.gauge('OldestWaitingRequestAgeSeconds', backlog.oldestWaitingAgeSeconds, 'Seconds')

  const agentSilent = agentSilentSeconds > thresholds.agentSilentSeconds
  if (agentSilent && !memory.agentSilent) {
    const fields = { alert: 'AgentSilent', thresholdSeconds: thresholds.agentSilentSeconds, queued: backlog.queued }
    if (newest) {
      deps.log.warn(`no hookferry agent has sent a heartbeat for ${agentSilentSeconds} s (threshold ${thresholds.agentSilentSeconds} s): work waits until an agent polls`, { ...fields, silentSeconds: agentSilentSeconds, lastHeartbeatAt: newest.lastHeartbeatAt, agentId: newest.agentId })
    } else {
      deps.log.warn('no hookferry agent has ever sent a heartbeat: start one ("hookferry agent") — work waits until an agent polls', fields)
    }
  } else if (!agentSilent && memory.agentSilent) {
    deps.log.info(`hookferry agent heartbeats are back (last ${agentSilentSeconds} s ago): the agent-silent alert cleared`, { alert: 'AgentSilent', agentId: newest?.agentId, silentSeconds: agentSilentSeconds })
  }

  const backlogOld = backlog.oldestWaitingAgeSeconds > thresholds.backlogAgeSeconds
  if (backlogOld && !memory.backlogOld) {
    deps.log.warn(`the oldest waiting request has waited ${backlog.oldestWaitingAgeSeconds} s (threshold ${thresholds.backlogAgeSeconds} s)`, { alert: 'BacklogAge', requestId: backlog.oldestWaitingRequestId, waitingSince: backlog.oldestWaitingSince, queued: backlog.queued })
  } else if (!backlogOld && memory.backlogOld) {
    deps.log.info(`the backlog age is below the threshold again (oldest waiting ${backlog.oldestWaitingAgeSeconds} s): the backlog alert cleared`, { alert: 'BacklogAge', queued: backlog.queued })
  }
  memory.agentSilent = agentSilent
  memory.backlogOld = backlogOld
  const syncs = await checkSyncLag(deps, (memory.syncStalled ??= {}))

  return {
    agentSilentSeconds,
    ...(newest ? { lastHeartbeatAt: newest.lastHeartbeatAt } : {}),
    oldestWaitingRequestAgeSeconds: backlog.oldestWaitingAgeSeconds,
    agentSilent,
    backlogOld,
    syncJobsStalled: syncs.stalled,
  }
}

import type { RelayDeps } from '../relay/deps.ts'
import { jobsOf } from '../relay/sync/sync-service.ts'
import { watermarkLag } from './sync-lag.ts'

/** Per job ("source/job"): whether its stalled alert was firing at the previous check. */
export type StalledMemory = Record<string, boolean>

/**
 * The sync half of the watchdog: a SyncWatermarkLagSeconds gauge per job, SyncJobsStalled (what
 * the CloudWatch alarm watches; thresholds are per job, in schedule intervals), and a warning once
 * when a job's watermark stops moving, an info line once when it moves again.
 */
export async function checkSyncLag(deps: RelayDeps, memory: StalledMemory): Promise<{ stalled: string[] }> {
  const now = deps.now()
  const stalled: string[] = []
  for (const ref of jobsOf(deps.config)) {
    const name = `${ref.source}/${ref.job}`
    const job = (await deps.ledger.getRecord(ref.recordKey))?.job
    const lag = watermarkLag(ref.config, job, now)
    if (lag.lagSeconds !== undefined) deps.metrics.gauge('SyncWatermarkLagSeconds', lag.lagSeconds, 'Seconds', { source: ref.source, job: ref.job })
    if (lag.stalled) stalled.push(name)
    const fields = { alert: 'SyncStalled', source: ref.source, job: ref.job, lagSeconds: lag.lagSeconds, schedule: ref.config.schedule, lastRun: job?.lastRun?.state, lastRunId: job?.lastRun?.id }
    if (lag.stalled && !memory[name]) {
      deps.log.warn(`sync ${name}: the watermark has not moved for ${lag.lagSeconds} s, more than ${ref.config.alertAfterIntervals} schedule intervals ("${ref.config.schedule}"): check "hookferry syncs" and the last run`, fields)
    } else if (!lag.stalled && memory[name]) {
      deps.log.info(`sync ${name}: the watermark moves again: the stalled alert cleared`, fields)
    }
    memory[name] = lag.stalled
  }
  deps.metrics.gauge('SyncJobsStalled', stalled.length, 'Count')
  return { stalled }
}

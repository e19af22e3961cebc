import type { SyncJobConfig } from '../config/sync-jobs.ts'
import { recentSlots } from '../relay/sync/schedule.ts'
import type { SyncJobState } from '../relay/sync-types.ts'
import { secondsBetween } from './backlog.ts'

export interface WatermarkLag {
  /** Seconds since the watermark moved or a complete run confirmed it; undefined before the scheduler saw the job. */
  lagSeconds?: number
  /** No progress across the last `alertAfterIntervals` scheduled slots. */
  stalled: boolean
}

/**
 * How far a job's watermark lags. Counted in schedule slots, not seconds, so a nightly job and
 * a minutely one share one rule: stalled when the watermark is older than the Nth latest slot.
 */
export function watermarkLag(config: SyncJobConfig, job: SyncJobState | undefined, now: Date): WatermarkLag {
  const since = job?.watermarkAt ?? job?.firstSeenAt
  if (!since) return { stalled: false }
  const slots = recentSlots(config, config.alertAfterIntervals, now)
  const oldest = slots[config.alertAfterIntervals - 1]
  return { lagSeconds: secondsBetween(since, now), stalled: oldest !== undefined && Date.parse(since) < oldest.getTime() }
}

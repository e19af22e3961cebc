import { Cron } from 'croner'
import type { SyncJobConfig } from '../../config/sync-jobs.ts'

/**
 * When a job is due, from its cron expression (croner, in the job's time zone). Pure: the clock is
 * an argument, so catch-up and time zones are tested without waiting.
 */
export interface DueSlot {
  /** The latest scheduled time at or before now that has not been turned into a run. */
  slot: Date
  /** More than one slot passed since the last one (the cloud was down): they become this one run. */
  missed: boolean
}

type Schedule = Pick<SyncJobConfig, 'schedule' | 'timezone'>

// Stryker disable next-line BooleanLiteral: equivalent, a Cron given no function schedules nothing whether paused or not
const cronOf = (job: Schedule): Cron => new Cron(job.schedule, { paused: true, timezone: job.timezone })

/** The latest slot at or before `now`, if it comes after `lastScheduledAt`. */
export function dueSlot(job: Schedule, lastScheduledAt: string, now: Date): DueSlot | undefined {
  const cron = cronOf(job)
  // previousRuns is strictly before its reference: 1 ms later includes a slot exactly at now.
  const [latest] = cron.previousRuns(1, new Date(now.getTime() + 1))
  const last = new Date(lastScheduledAt)
  if (!latest || latest.getTime() <= last.getTime()) return undefined
  const first = cron.nextRun(last)
  // Stryker disable next-line ConditionalExpression: equivalent, a slot after `last` exists (latest), so nextRun(last) is never null here
  return { slot: latest, missed: first !== null && first.getTime() < latest.getTime() }
}

/** The next slot strictly after `after`. */
export function nextSlot(job: Schedule, after: Date): Date | undefined {
  return cronOf(job).nextRun(after) ?? undefined
}

/** The `count` most recent slots at or before `now`, newest first. */
export function recentSlots(job: Schedule, count: number, now: Date): Date[] {
  return cronOf(job).previousRuns(count, new Date(now.getTime() + 1))
}

/** The mode of the `runNumber`-th scheduled run (1-based): every `fullEvery`-th one is full. */
export function scheduledMode(job: Pick<SyncJobConfig, 'mode' | 'fullEvery'>, runNumber: number): 'incremental' | 'full' {
  if (job.mode === 'full') return 'full'
  // Stryker disable next-line ConditionalExpression: equivalent, runNumber % undefined is NaN, never 0
  return job.fullEvery !== undefined && runNumber % job.fullEvery === 0 ? 'full' : 'incremental'
}

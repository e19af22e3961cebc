import { Cron } from 'croner'
import * as z from 'zod/mini'
import './zod.ts'

/**
 * A source's scheduled sync jobs (`sources.<name>.jobs`): WHEN the cloud starts a run. HOW a run
 * reads the source (its `list` connector, credentials) is in the agent's config, on-prem.
 */

/** The croner error for a bad expression or time zone, or undefined when it is fine. */
export function scheduleProblem(schedule: string, timezone?: string): string | undefined {
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone })
    } catch {
      return `"${timezone}" is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)`
    }
  }
  try {
    const cron = new Cron(schedule, { paused: true, ...(timezone === undefined ? {} : { timezone }) })
    if (cron.nextRun() === null) return `"${schedule}" never runs`
  } catch (error) {
    return `"${schedule}" is not a cron expression (${(error as Error).message}); e.g. "0 2 * * *" for 02:00 every day`
  }
  return undefined
}

const count = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max))

export const syncJobSchema = z
  .strictObject({
    /** Cron expression (5 fields, or 6 with seconds), read by croner: "0 2 * * *" is 02:00 every day. */
    schedule: z.string().check(z.minLength(1)),
    /** IANA time zone the schedule is read in (daylight saving time handled by croner). */
    timezone: z._default(z.string(), 'UTC'),
    /** incremental: changes since the job's watermark. full: everything, every run. */
    mode: z._default(z.enum(['incremental', 'full']), 'incremental'),
    /** Every Nth scheduled run is a full refresh (the others incremental). */
    fullEvery: z.optional(count(2, 10_000)),
    /** Upper bound of a run = its start minus this lag, so rows committed late (long transactions, replicas) are read by the next run. */
    lagSeconds: z._default(count(0, 86_400), 60),
    /** Attempts of one run (each resumes from the last checkpoint) before it is dead-lettered. */
    maxAttempts: z._default(count(1, 100), 5),
    /** next-slot: the first run waits for the first scheduled time after the job appears. immediately: it starts at once. */
    firstRun: z._default(z.enum(['next-slot', 'immediately']), 'next-slot'),
    /** Warn (and count the job in SyncJobsStalled) when its watermark has not moved for this many schedule intervals. */
    alertAfterIntervals: z._default(count(1, 1000), 3),
  })
  .check(
    z.superRefine((job, context) => {
      const problem = scheduleProblem(job.schedule, job.timezone)
      if (problem) context.issues.push({ code: 'custom', message: problem, path: [problem.includes('time zone') ? 'timezone' : 'schedule'], input: job })
    }),
  )
export type SyncJobConfig = z.infer<typeof syncJobSchema>

/** `jobs:` of a source: job name → job. */
export const syncJobsSchema = z._default(
  z.record(z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'job names use lower-case letters, digits, "_" and "-"')), syncJobSchema),
  {},
)

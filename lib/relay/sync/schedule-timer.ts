import type { RelayDeps } from '../deps.ts'
import { nextSlot } from './schedule.ts'
import { jobsOf, scheduleDueRuns } from './sync-service.ts'

/** Wake at least this often, so a clock jump or a new job is noticed within a minute. */
const MAX_SLEEP_IN_MS = 60_000
/** Wake this long after a slot, so the slot is at or before "now" when the tick reads the clock. */
const AFTER_SLOT_IN_MS = 50

/**
 * The scheduler of `hookferry serve` (the SyncSchedule cron on AWS): ticks once at start (catch-up
 * after downtime), then at each job's next slot. Returns the function that stops it (after a
 * tick in progress, so the ledger is not closed under it).
 */
export function startScheduleTimer(deps: RelayDeps): () => Promise<void> {
  const jobs = jobsOf(deps.config)
  if (jobs.length === 0) return async () => {}
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let stopped = false
  const sleepMs = (): number => {
    const now = deps.now()
    const next = Math.min(...jobs.map((ref) => nextSlot(ref.config, now)?.getTime() ?? Infinity))
    return Math.max(0, Math.min(next - now.getTime() + AFTER_SLOT_IN_MS, MAX_SLEEP_IN_MS))
  }
  const tick = async (): Promise<void> => {
    try {
      await scheduleDueRuns(deps)
    } catch (error) {
      deps.log.error('sync scheduler failed', { error: String(error) })
    }
    if (!stopped) timer = setTimeout(start, sleepMs())
  }
  const start = () => {
    running = tick()
  }
  timer = setTimeout(start, 0)
  return async () => {
    stopped = true
    clearTimeout(timer)
    await running
  }
}

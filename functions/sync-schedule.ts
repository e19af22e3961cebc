import middy from '@middy/core'
import { scheduleDueRuns } from '../lib/relay/sync/sync-service.ts'
import { getRuntime } from '../lib/runtime/runtime.ts'

/** Cron (every minute): turns each sync job's due schedule slot into one run (missed slots: one catch-up run). */
export const handler = middy().handler(async () => {
  const runtime = await getRuntime()
  try {
    const ticks = await scheduleDueRuns(runtime)
    return { triggered: ticks.filter((tick) => 'send' in tick.result).length }
  } finally {
    runtime.flush()
  }
})

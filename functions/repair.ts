import middy from '@middy/core'
import { repairStuckRequests } from '../lib/relay/repair.ts'
import { getRuntime } from '../lib/runtime/runtime.ts'

/** Cron (every minute): re-send messages of stuck requests. */
export const handler = middy().handler(async () => {
  const runtime = await getRuntime()
  try {
    return await repairStuckRequests(runtime)
  } finally {
    runtime.flush()
  }
})

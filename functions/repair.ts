import middy from '@middy/core'
import { checkAlerts } from '../lib/admin/alerts.ts'
import { repairStuckRequests } from '../lib/relay/repair.ts'
import { getRuntime } from '../lib/runtime/runtime.ts'

/** Cron (every minute): re-send messages of stuck requests; watch for a silent agent and an old backlog. */
export const handler = middy().handler(async () => {
  const runtime = await getRuntime()
  try {
    const alerts = await checkAlerts(runtime).catch((error: unknown) => {
      // No AgentSilentSeconds this run: the alarm treats missing data as breaching.
      runtime.log.error('alert check failed', { error: String(error) })
      return undefined
    })
    return { ...(await repairStuckRequests(runtime)), alerts }
  } finally {
    runtime.flush()
  }
})

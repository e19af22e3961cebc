import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `check` until it returns something other than undefined/false (returned), or fails
 * with `what` after `timeoutMs`. For conditions observed across processes, where there is no
 * event to wait on.
 */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 25 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
      lastError = undefined
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      const reason = lastError === undefined ? '' : ` (last error: ${(lastError as Error).message ?? String(lastError)})`
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`)
    }
    await sleep(intervalMs)
  }
}

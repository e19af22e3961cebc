import { setTimeout as sleep } from 'node:timers/promises'
import { fullJitterDelaySeconds } from '../../relay/backoff.ts'
import { isAgentError, type AgentError } from '../errors.ts'

/** A Retry-After longer than this is not waited out inside a run: the run is retried later by the cloud (the ack carries the delay). */
export const MAX_IN_RUN_WAIT_IN_SECONDS = 60
const BASE_DELAY_IN_SECONDS = 0.5
const MAX_DELAY_IN_SECONDS = 30

export interface RetryOptions {
  attempts: number
  signal?: AbortSignal | undefined
  /** Told before each wait (for a log line). */
  onRetry?: (error: Error, delayMs: number, attempt: number) => void
  /** Backoff base (tests shorten it). */
  baseDelaySeconds?: number
}

/**
 * Calls `call` until it succeeds, retrying retryable AgentErrors up to `attempts` times in all:
 * after the far side's Retry-After when it gave one, else with full-jitter backoff. A permanent
 * error, a long Retry-After or the last failure is thrown to the caller.
 */
export async function withRetries<T>(call: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call(attempt)
    } catch (error) {
      if (!isAgentError(error) || !error.retryable || attempt >= options.attempts || options.signal?.aborted) throw error
      if (error.retryAfterSeconds !== undefined && error.retryAfterSeconds > MAX_IN_RUN_WAIT_IN_SECONDS) throw error
      const seconds = retryDelaySeconds(error, attempt, options.baseDelaySeconds)
      options.onRetry?.(error, seconds * 1000, attempt)
      await sleep(seconds * 1000, undefined, options.signal ? { signal: options.signal } : {})
    }
  }
}

/** How long to wait after the `attempt`-th failure: the far side's Retry-After, else full-jitter backoff. */
export function retryDelaySeconds(error: AgentError, attempt: number, baseDelaySeconds = BASE_DELAY_IN_SECONDS): number {
  return error.retryAfterSeconds ?? fullJitterDelaySeconds(attempt, { baseDelaySeconds, maxDelaySeconds: MAX_DELAY_IN_SECONDS })
}

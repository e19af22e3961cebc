import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Keeps one source's API calls within `requestsPerSecond` (starts evenly spaced, so a burst never
 * trips the API's own limiter) and `concurrency` (calls in flight). Shared by the list pages and
 * the detail fetches of a run.
 */
export class RateLimiter {
  readonly #spacingMs: number
  readonly #concurrency: number
  #nextStartAt = 0
  #running = 0
  readonly #waiting: (() => void)[] = []

  constructor(options: { requestsPerSecond?: number | undefined; concurrency: number }) {
    this.#spacingMs = options.requestsPerSecond ? 1000 / options.requestsPerSecond : 0
    this.#concurrency = options.concurrency
  }

  /** Runs `call` once a slot is free and its start is due. */
  async run<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#running >= this.#concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    this.#running += 1
    try {
      if (this.#spacingMs > 0) {
        const now = performance.now()
        const startAt = Math.max(now, this.#nextStartAt)
        this.#nextStartAt = startAt + this.#spacingMs
        if (startAt > now) await sleep(startAt - now, undefined, signal ? { signal } : {})
      }
      return await call()
    } finally {
      this.#running -= 1
      this.#waiting.shift()?.()
    }
  }
}

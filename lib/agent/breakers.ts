import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { CircuitBreaker, type BreakerChange, type BreakerStatus } from './circuit-breaker.ts'
import { isAgentError } from './errors.ts'
import type { AgentMetrics } from './metrics.ts'

export interface BreakerSettings {
  failureThreshold: number
  probeIntervalSeconds: number
  /**
   * Requests held in their slot (lease extended) while their far side is down; more are handed
   * back to the cloud for a probe interval. Default: all but one slot, which stays for the other
   * sources; while the hold is full, pulls slow to one per probe interval (see beforePull), so a
   * long outage costs a few cloud calls a minute, not a churn through the whole backlog.
   */
  maxHeld?: number
}



/**
 * The agent's circuit breakers: one per SaaS API (per source) and one per destination (sources
 * delivering to the same sink config share it). State changes are one log line each and a metric.
 */
export class Breakers {
  readonly #settings: BreakerSettings
  readonly #log: Logger
  readonly #metrics: AgentMetrics | undefined
  readonly #now: () => number
  readonly #byName = new Map<string, CircuitBreaker>()
  #holding = 0

  constructor(options: { settings: BreakerSettings; log: Logger; metrics?: AgentMetrics; now: () => number }) {
    this.#settings = options.settings
    this.#log = options.log
    this.#metrics = options.metrics
    this.#now = options.now
  }

  /** The breaker for the SaaS API of `source` (fetch and write-back). */
  api(source: string): CircuitBreaker {
    return this.#get(`the API of source ${source}`)
  }

  /** The breaker for a destination, by its fingerprint; `label` names it in logs (first user wins). */
  sink(destination: string, label: string): CircuitBreaker {
    const key = `sink ${destination}`
    const known = this.#byName.get(key)
    if (known) return known
    const breaker = this.#make(label)
    this.#byName.set(key, breaker)
    return breaker
  }

  /**
   * Takes a hold slot for work whose far side is down; false when all are taken (the caller hands
   * the work back instead). Give it back with `unhold`.
   */
  hold(): boolean {
    if (this.#holding >= (this.#settings.maxHeld ?? 1)) return false
    this.#holding += 1
    return true
  }

  unhold(): void {
    this.#holding = Math.max(0, this.#holding - 1)
  }

  /** How long work handed back because the hold is full waits in the cloud. */
  get overflowDelaySeconds(): number {
    return Math.max(1, Math.ceil(this.#settings.probeIntervalSeconds))
  }

  /** Called before each pull: while the hold is full and a far side is down, waits one probe interval. */
  async beforePull(signal: AbortSignal): Promise<void> {
    if (this.#holding < (this.#settings.maxHeld ?? 1)) return
    if (![...this.#byName.values()].some((breaker) => breaker.state !== 'closed')) return
    await sleep(this.#settings.probeIntervalSeconds * 1000, undefined, { signal }).catch(() => undefined)
  }

  statuses(): BreakerStatus[] {
    return [...this.#byName.values()].map((breaker) => breaker.status())
  }

  #get(name: string): CircuitBreaker {
    let breaker = this.#byName.get(name)
    if (!breaker) this.#byName.set(name, (breaker = this.#make(name)))
    return breaker
  }

  #make(name: string): CircuitBreaker {
    const { failureThreshold, probeIntervalSeconds } = this.#settings
    return new CircuitBreaker(name, { failureThreshold, probeIntervalMs: probeIntervalSeconds * 1000, now: this.#now, onChange: (change) => this.#changed(change) })
  }

  #changed(change: BreakerChange): void {
    this.#metrics?.setBreakerOpen(change.name, change.state === 'open')
    if (change.state === 'open') {
      this.#log.warn({ breaker: change.name, error: change.lastError }, `${change.name} is down (${change.lastError}): holding its requests without spending their attempts; probing every ${this.#settings.probeIntervalSeconds} s`)
    } else {
      const seconds = Math.round((this.#now() - change.since) / 1000)
      this.#log.info({ breaker: change.name, downSeconds: seconds, held: change.held }, `${change.name} is back after ${formatSeconds(seconds)}: draining the ${change.held} held requests`)
    }
  }
}

/** Runs one call to the far side behind `breaker`: an outage counts against it, any answer for it. */
export async function through<T>(breaker: CircuitBreaker | undefined, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!breaker) return call()
  try {
    const result = await call()
    breaker.succeeded()
    return result
  } catch (error) {
    if (signal?.aborted) breaker.probeAbandoned()
    else if (isAgentError(error) && error.outage) breaker.failedWithOutage(error.message)
    else if (isAgentError(error)) breaker.succeeded()
    throw error
  }
}

function formatSeconds(total: number): string {
  const minutes = Math.floor(total / 60)
  return minutes > 0 ? `${minutes}m${String(total % 60).padStart(2, '0')}s` : `${total}s`
}

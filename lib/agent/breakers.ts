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

  /**
   * Lets one request through to its two far sides (its source's API, its sink), maybe as a probe.
   * When one is down the request waits in its slot for it (no attempt spent, the lease extended),
   * or, when enough work is held already, is refused: handed back to the cloud for a probe
   * interval. A passage must be left when the request ends, so that a probe it never used (the
   * record was filtered, unchanged, or the other side failed) is given back.
   */
  async passage(source: string, destination: string, signal?: AbortSignal): Promise<Passage> {
    const api = this.api(source)
    const sink = this.sink(destination, `the sink of source ${source}`)
    const far: FarSides = { api, sink }
    const probes: CircuitBreaker[] = []
    const leave = () => {
      for (const probe of probes) probe.probeAbandoned()
    }
    const refused = this.#admit([api, sink], probes)
    if (!refused) return { far, leave }
    if (!this.hold()) return { refused }
    try {
      await whenAdmitted(far, probes, signal)
    } catch {
      return { refused } // the agent is stopping: the pool releases the lease anyway
    } finally {
      this.unhold()
    }
    return { far, leave }
  }

  /** Admits the request at both sides at once (probes granted are added to `probes`), or says why not. */
  #admit(sides: CircuitBreaker[], probes: CircuitBreaker[]): Refusal | undefined {
    const granted: CircuitBreaker[] = []
    for (const breaker of sides) {
      const admission = breaker.admit()
      if (admission.go) {
        granted.push(breaker)
        if (admission.probe) probes.push(breaker)
        continue
      }
      probes.length = 0
      for (const other of granted) other.probeAbandoned()
      const status = breaker.status()
      return {
        delaySeconds: this.overflowDelaySeconds,
        error: { code: 'agent.circuit_open', message: `held: ${breaker.name} is down since ${status.since ?? 'now'} (${status.lastError ?? 'unavailable'})` },
      }
    }
    return undefined
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

/** The breakers of one request's far sides (absent: no breakers, everything goes). */
export interface FarSides {
  api?: CircuitBreaker
  sink?: CircuitBreaker
}

/** Why a request was handed back without going: how long it waits in the cloud, and the reason for its history. */
export interface Refusal {
  delaySeconds: number
  error: { code: string; message: string }
}

/** See Breakers.passage. */
export type Passage = { far: FarSides; leave: () => void } | { refused: Refusal }

/**
 * Waits until every far side lets the work go, one side after the other, keeping a probe it was
 * granted while it waits for the next side (giving it back and asking again at once spun the event
 * loop forever when both sides were down). Stopping gives the probes back.
 */
async function whenAdmitted(far: FarSides, probes: CircuitBreaker[], signal?: AbortSignal): Promise<void> {
  try {
    for (const breaker of [far.api, far.sink]) {
      if (breaker && breaker.state !== 'closed' && (await breaker.whenAdmitted(signal))) probes.push(breaker)
    }
  } catch (error) {
    for (const probe of probes) probe.probeAbandoned()
    throw error
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

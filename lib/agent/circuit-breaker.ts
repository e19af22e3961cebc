import { setTimeout as sleep } from 'node:timers/promises'

/**
 * A circuit breaker for one far side (a sink, or the SaaS API a source fetches from). While it is
 * closed, work flows; `failureThreshold` outages in a row (see AgentError.outage) open it: then
 * work for that side is not attempted but held (see Breakers.hold), without spending its
 * attempts, and every `probeIntervalMs` one request goes through as a probe (half-open). The
 * probe's success closes it and the held work drains at full speed; its outage opens it again.
 * Failures that are the record's own (a 422, a constraint, a transform error) neither count nor
 * close it.
 */
export type BreakerState = 'closed' | 'open' | 'half-open'

export interface BreakerOptions {
  failureThreshold: number
  probeIntervalMs: number
  now: () => number
  /** One call per state change: the log line and the metric. */
  onChange: (change: BreakerChange) => void
}

export interface BreakerChange {
  name: string
  state: 'open' | 'closed'
  /** When it opened (for `closed`: the outage's length is now − since). */
  since: number
  /** Requests held back while open (so far). */
  held: number
  lastError: string
}

export interface BreakerStatus {
  name: string
  state: BreakerState
  /** ISO time it opened; absent while closed. */
  since?: string
  held: number
  lastError?: string
}

/** What a caller may do now. `probe`: go ahead, and report the outcome (the breaker waits for it). */
export type Admission = { go: true; probe: boolean } | { go: false; retryInMs: number }

export class CircuitBreaker {
  readonly name: string
  readonly #options: BreakerOptions
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #nextProbeAt = 0
  #held = 0
  #lastError = ''
  #closed = signalOnce()

  constructor(name: string, options: BreakerOptions) {
    this.name = name
    this.#options = options
  }

  get state(): BreakerState {
    return this.#state
  }

  /** Asks to send one piece of work through; a refusal counts the work as held. */
  admit(): Admission {
    const admission = this.#peek()
    if (!admission.go) this.#held += 1
    return admission
  }

  /**
   * Waits until this work may go (the circuit closed, or it is the next probe). Resolves whether
   * it goes as the probe; rejects when `signal` aborts.
   */
  async whenAdmitted(signal?: AbortSignal): Promise<boolean> {
    for (;;) {
      const admission = this.#peek()
      if (admission.go) return admission.probe
      await Promise.race([sleep(admission.retryInMs, undefined, signal ? { signal } : {}), this.#closed.promise])
    }
  }

  #peek(): Admission {
    if (this.#state === 'closed') return { go: true, probe: false }
    const now = this.#options.now()
    if (this.#state === 'open' && now >= this.#nextProbeAt) {
      this.#state = 'half-open'
      return { go: true, probe: true }
    }
    // Half-open: a probe is out; the rest waits for its answer (at most an interval).
    return { go: false, retryInMs: Math.max(this.#nextProbeAt - now, 1) }
  }

  /** The far side answered (whatever it thought of the record). */
  succeeded(): void {
    this.#failures = 0
    if (this.#state === 'closed') return
    const change: BreakerChange = { name: this.name, state: 'closed', since: this.#openedAt, held: this.#held, lastError: this.#lastError }
    this.#state = 'closed'
    this.#held = 0
    this.#closed.resolve()
    this.#closed = signalOnce()
    this.#options.onChange(change)
  }

  /** The far side was unavailable. */
  failedWithOutage(message: string): void {
    const now = this.#options.now()
    this.#lastError = message
    this.#failures += 1
    this.#nextProbeAt = now + this.#options.probeIntervalMs
    if (this.#state === 'half-open') {
      this.#state = 'open'
      return
    }
    if (this.#state === 'closed' && this.#failures >= this.#options.failureThreshold) {
      this.#state = 'open'
      this.#openedAt = now
      this.#options.onChange({ name: this.name, state: 'open', since: now, held: this.#held, lastError: message })
    }
  }

  /** A probe ended without telling anything about the far side (aborted, or another side refused it): let another one go. */
  probeAbandoned(): void {
    if (this.#state !== 'half-open') return
    this.#state = 'open'
    this.#nextProbeAt = this.#options.now()
  }

  status(): BreakerStatus {
    return {
      name: this.name,
      state: this.#state,
      held: this.#held,
      ...(this.#state === 'closed' ? {} : { since: new Date(this.#openedAt).toISOString() }),
      ...(this.#lastError && this.#state !== 'closed' ? { lastError: this.#lastError } : {}),
    }
  }
}

/** A promise and its resolver: waiters are woken at once when the circuit closes. */
function signalOnce(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((done) => (resolve = done))
  return { promise, resolve }
}

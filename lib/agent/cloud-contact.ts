import type { HealthStatus } from './health-server.ts'

/** Tracks the agent's last exchanges with the cloud: the basis of /healthz. */
export class CloudContact {
  readonly #now: () => number
  readonly #staleAfterMs: number
  #lastSuccessAt: number | undefined
  #lastFailure: { at: number; reason: string } | undefined

  constructor(options: { now: () => number; staleAfterMs: number }) {
    this.#now = options.now
    this.#staleAfterMs = options.staleAfterMs
  }

  succeeded(): void {
    this.#lastSuccessAt = this.#now()
  }

  failed(reason: string): void {
    this.#lastFailure = { at: this.#now(), reason }
  }

  /** Healthy when the latest call to the cloud succeeded, and not too long ago. */
  status(): HealthStatus {
    const now = this.#now()
    const success = this.#lastSuccessAt
    const failure = this.#lastFailure
    if (failure && (success === undefined || failure.at >= success)) return { ok: false, reason: `last call to the cloud failed: ${failure.reason}` }
    if (success === undefined) return { ok: false, reason: 'no contact with the cloud yet' }
    const seconds = Math.round((now - success) / 1000)
    if (now - success > this.#staleAfterMs) return { ok: false, reason: `no successful call to the cloud for ${seconds} s` }
    return { ok: true, reason: `last successful call to the cloud ${seconds} s ago` }
  }
}

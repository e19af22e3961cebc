import type { Logger } from 'pino'
import type { LeaseGrant } from '../relay/agent-api.ts'
import type { AgentApiClient } from './api-client.ts'

/**
 * Keeps the leases of slow work alive: every `intervalMs` (about half the lease) it asks the cloud
 * for another `leaseSeconds`. If a lease is lost anyway, the work goes on (its ack will say
 * lease_lost and the redelivery is harmless), but extending it stops.
 */
export class LeaseExtender {
  readonly #client: AgentApiClient
  readonly #log: Logger
  readonly #intervalMs: number
  readonly #leaseSeconds: number
  readonly #onExtended: (lease: LeaseGrant) => void

  constructor(options: { client: AgentApiClient; log: Logger; intervalMs: number; leaseSeconds: number; onExtended?: (lease: LeaseGrant) => void }) {
    this.#client = options.client
    this.#log = options.log
    this.#intervalMs = options.intervalMs
    this.#leaseSeconds = options.leaseSeconds
    this.#onExtended = options.onExtended ?? (() => {})
  }

  /** Starts extending `lease`; call the returned function when the work is over. */
  track(lease: LeaseGrant): () => void {
    let stopped = false
    const timer = setInterval(() => {
      this.#client.extend([{ lease: lease.lease, seconds: this.#leaseSeconds }]).then(
        (response) => {
          const status = response.results.find((result) => result.lease === lease.lease)?.status ?? 'invalid_lease'
          if (status === 'ok') return this.#onExtended(lease)
          if (stopped) return
          stopped = true
          clearInterval(timer)
          this.#log.warn({ requestId: lease.requestId, source: lease.source, recordId: lease.recordId, status }, 'could not extend the lease: the cloud may hand this request to another agent')
        },
        (error: unknown) => this.#log.warn({ requestId: lease.requestId, error: (error as Error).message }, 'lease extension failed; trying again at the next interval'),
      )
    }, this.#intervalMs)
    timer.unref()
    return () => {
      stopped = true
      clearInterval(timer)
    }
  }
}

import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { AckItem, LeaseGrant } from '../relay/agent-api.ts'
import type { AckBatcher } from './ack-batcher.ts'
import type { LeaseExtender } from './lease-extender.ts'
import type { AgentMetrics } from './metrics.ts'
import type { ProcessResult } from './process-request.ts'
import { reportOutcome } from './report-outcome.ts'

export interface WorkPoolOptions {
  concurrency: number
  leaseSeconds: number
  /** Works on one lease; never throws (see processRequest). */
  process: (lease: LeaseGrant, signal: AbortSignal) => Promise<ProcessResult>
  extender: LeaseExtender
  acks: AckBatcher
  log: Logger
  metrics: AgentMetrics
  now: () => number
}

interface Work {
  lease: LeaseGrant
  startedAt: number
  abort: AbortController
  /** The lease was given back (agent stopping): whatever the work ends with is not acked. */
  released: boolean
  stopExtending: () => void
  done: Promise<void>
}

/**
 * The leases being worked on: each runs `process`, is kept alive by the extender while it runs,
 * and is acked when it ends. The poll loop waits for a free slot before it pulls.
 */
export class WorkPool {
  readonly #options: WorkPoolOptions
  readonly #work = new Map<string, Work>()
  #slotFreed: (() => void) | undefined

  constructor(options: WorkPoolOptions) {
    this.#options = options
  }

  get size(): number {
    return this.#work.size
  }

  get free(): number {
    return Math.max(0, this.#options.concurrency - this.#work.size)
  }

  /** Resolves when at least `wanted` slots (at most all of them) are free, or when `signal` aborts. */
  async freeSlots(wanted: number, signal: AbortSignal): Promise<void> {
    const enough = Math.max(1, Math.min(wanted, this.#options.concurrency))
    const wake = () => this.#slotFreed?.()
    signal.addEventListener('abort', wake, { once: true })
    try {
      while (this.free < enough && !signal.aborted) await new Promise<void>((resolve) => (this.#slotFreed = resolve))
    } finally {
      signal.removeEventListener('abort', wake)
    }
  }

  /** Starts working on a lease. */
  begin(lease: LeaseGrant): void {
    const { metrics, log, extender, now } = this.#options
    metrics.count('pulled', lease.source)
    const work: Work = { lease, startedAt: now(), abort: new AbortController(), released: false, stopExtending: extender.track(lease), done: Promise.resolve() }
    this.#work.set(lease.lease, work)
    metrics.setInFlight(this.#work.size)
    work.done = this.#run(work)
      .catch((error: unknown) => log.error({ requestId: lease.requestId, error: (error as Error).message }, 'unexpected error while finishing a request'))
      .finally(() => {
        work.stopExtending()
        this.#work.delete(lease.lease)
        metrics.setInFlight(this.#work.size)
        this.#slotFreed?.()
      })
  }

  /** Waits until the running work is over, at most `timeoutMs`. */
  async settle(timeoutMs: number): Promise<void> {
    if (this.#work.size === 0) return
    await Promise.race([Promise.allSettled([...this.#work.values()].map((work) => work.done)), sleep(timeoutMs, undefined, { ref: false })])
  }

  /** Gives back the leases of the work still running (ack `release`) and aborts that work. Returns their request ids. */
  releaseAll(): string[] {
    const unfinished = [...this.#work.values()]
    for (const work of unfinished) {
      work.released = true
      work.stopExtending()
      work.abort.abort()
      void this.#options.acks.add({ lease: work.lease.lease, outcome: 'release' }, work.lease.requestId, this.#ackDeadline())
    }
    return unfinished.map((work) => work.lease.requestId)
  }

  async #run(work: Work): Promise<void> {
    const { lease } = work
    const result = await this.#options.process(lease, work.abort.signal)
    if (work.released) return
    work.stopExtending()
    reportOutcome(this.#options, lease, result, this.#options.now() - work.startedAt)
    // The slot is free once the ack is queued: the batcher sends it (perhaps on the next pull)
    // and stop() flushes it. Waiting for the cloud here would keep slots idle for a round trip.
    void this.#options.acks.add({ lease: lease.lease, ...result.outcome } as AckItem, lease.requestId, this.#ackDeadline())
  }

  /** An ack later than this finds the lease expired anyway (it was extended at most half a lease ago). */
  #ackDeadline(): number {
    return this.#options.now() + this.#options.leaseSeconds * 1000
  }
}

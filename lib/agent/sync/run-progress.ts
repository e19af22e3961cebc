import type { CheckpointRequest, CheckpointResponse, SyncProgress } from '../../relay/agent-api.ts'
import type { RunError, SyncCounts, Watermark } from '../../relay/sync-types.ts'
import { withRetries } from './retry.ts'

/** The Agent API takes at most this many new errors per call. */
const MAX_ERRORS_PER_CALL = 100
const CHECKPOINT_ATTEMPTS = 6

export type CheckpointCall = (request: CheckpointRequest, signal?: AbortSignal) => Promise<CheckpointResponse>

/**
 * A run's progress as the cloud should know it: totals, the last committed position and the
 * errors not sent yet. `committed` is called only once the sink holds everything up to the
 * position; `flush` sends it (at most once per `everyMs` unless forced), so a resumed run starts
 * from the last committed chunk, never from one that was only read.
 */
export class RunProgress {
  readonly counts: SyncCounts
  /** Where the next attempt of this run resumes (what the cloud has, or will have after flush). */
  checkpoint: Watermark | undefined
  readonly #lease: string
  readonly #call: CheckpointCall
  readonly #everyMs: number
  readonly #promote: boolean
  /** false (unordered sources, resends): positions are not sent until the run is complete. */
  readonly #sendPositions: boolean
  #errors: RunError[] = []
  #sentAt = 0
  #dirty = false
  #flushing: Promise<unknown> = Promise.resolve()

  constructor(options: { lease: string; call: CheckpointCall; counts: SyncCounts; after?: Watermark | undefined; everyMs: number; promote: boolean; sendPositions: boolean }) {
    this.#lease = options.lease
    this.#call = options.call
    this.counts = { ...options.counts }
    this.checkpoint = options.after
    this.#everyMs = options.everyMs
    this.#promote = options.promote
    this.#sendPositions = options.sendPositions
  }

  /** Everything up to `position` is at the sink. */
  committed(position: Watermark | undefined): void {
    if (position) this.checkpoint = position
    this.#dirty = true
  }

  reject(error: RunError): void {
    this.#errors.push(error)
    // Stryker disable next-line BooleanLiteral: equivalent, a pending error alone makes #flush send (its first check)
    this.#dirty = true
  }

  /** Sends the progress when due (or `force`); 'ok', or the cloud's word that the run is no longer ours. */
  flush(force: boolean, now: number, signal?: AbortSignal): Promise<CheckpointResponse['status']> {
    // One call at a time: a checkpoint never overtakes an earlier one, and no error is sent twice.
    const flushed = this.#flushing.then(() => this.#flush(force, now, signal))
    this.#flushing = flushed.catch(() => undefined)
    return flushed
  }

  async #flush(force: boolean, now: number, signal?: AbortSignal): Promise<CheckpointResponse['status']> {
    // Stryker disable next-line ConditionalExpression: equivalent, reject() marks the progress dirty, so errors never wait while it is clean
    if (!this.#dirty && this.#errors.length === 0) return 'ok'
    if (!force && now - this.#sentAt < this.#everyMs && this.#errors.length < MAX_ERRORS_PER_CALL) return 'ok'
    do {
      const errors = this.#errors.slice(0, MAX_ERRORS_PER_CALL)
      const request: CheckpointRequest = { lease: this.#lease, progress: { ...this.#position(), counts: { ...this.counts }, errors, promote: this.#promote } }
      const { status } = await withRetries(() => this.#call(request, signal), { attempts: CHECKPOINT_ATTEMPTS, signal })
      if (status !== 'ok') return status
      this.#errors.splice(0, errors.length)
    } while (this.#errors.length > 0)
    this.#sentAt = now
    this.#dirty = false
    return 'ok'
  }

  /** The final summary for ack `done` (send `flush(true)` first if more than 100 errors may be pending). */
  summary(finalPosition: Watermark | undefined): SyncProgress {
    const checkpoint = finalPosition ?? this.checkpoint
    return { ...(checkpoint ? { checkpoint } : {}), counts: { ...this.counts }, errors: this.#errors.splice(0, MAX_ERRORS_PER_CALL), promote: this.#promote }
  }

  #position(): { checkpoint?: Watermark } {
    return this.#sendPositions && this.checkpoint ? { checkpoint: this.checkpoint } : {}
  }
}

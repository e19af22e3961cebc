import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { MAX_ACKS_PER_CALL, type AckItem, type AckResponse } from '../relay/agent-api.ts'
import type { AgentApiClient } from './api-client.ts'
import { isAgentError } from './errors.ts'

const RETRY_BASE_DELAY_IN_MS = 250
/** While a pull is due, acks wait at most this long for it before they go in a call of their own. */
const RIDE_WAIT_IN_MS = 20

/** An ack waiting to be sent. */
export interface PendingAck {
  item: AckItem
  requestId: string
  /** Past this (epoch ms) the lease has expired: the cloud redelivers anyway, so stop trying. */
  giveUpAt: number
  settle: () => void
}

/**
 * Sends acks in batches: acks that finish in the same turn of the event loop go in one call.
 * While the agent is about to pull (its pool busy, waiting for enough free slots), acks wait up
 * to RIDE_WAIT_IN_MS for that pull and ride on it (`take`, then `settle` or `giveBack`): one call
 * and one ledger commit fewer per batch. A failed call is retried with backoff until the lease
 * would have expired; an ack that never arrives only means a redelivery, which the idempotency
 * key makes harmless.
 */
export class AckBatcher {
  readonly #client: AgentApiClient
  readonly #log: Logger
  readonly #now: () => number
  readonly #maxRetryDelayMs: number
  #pending: PendingAck[] = []
  #sending: Promise<void> | undefined
  #failures = 0
  readonly #closing = new AbortController()
  readonly #pullDue: () => boolean
  /** Ends the wait for a pull early. */
  #wake: (() => void) | undefined

  /** `pullDue`: true while the agent will send a pull soon (acks added then wait for it). */
  constructor(options: { client: AgentApiClient; log: Logger; now: () => number; maxRetryDelayMs: number; pullDue?: () => boolean }) {
    this.#client = options.client
    this.#log = options.log
    this.#now = options.now
    this.#maxRetryDelayMs = options.maxRetryDelayMs
    this.#pullDue = options.pullDue ?? (() => false)
  }

  /** Queues an ack; resolves when the cloud recorded it or it was given up. */
  add(item: AckItem, requestId: string, giveUpAt: number): Promise<void> {
    return new Promise((settle) => {
      this.#pending.push({ item, requestId, giveUpAt, settle })
      // A reply is awaited by the webhook's caller: it never waits for a pull.
      const forReply = item.outcome === 'done' && item.reply !== undefined
      if (forReply) this.#wake?.()
      this.#sending ??= this.#sendAll(!forReply && this.#pullDue() ? RIDE_WAIT_IN_MS : 0)
    })
  }

  /** Takes the queued acks (at most a call's worth) for a pull to carry; hand them back with settle or giveBack. */
  take(): PendingAck[] {
    if (this.#pending.length === 0) return []
    const now = this.#now()
    const taken: PendingAck[] = []
    this.#pending = this.#pending.filter((pending) => {
      if (taken.length >= MAX_ACKS_PER_CALL || pending.giveUpAt <= now) return true
      taken.push(pending)
      return false
    })
    return taken
  }

  /** The pull that carried `taken` was answered with these results. */
  settle(taken: PendingAck[], results: AckResponse['results'] | undefined): void {
    if (results === undefined) return this.giveBack(taken)
    this.#report(taken, { results })
  }

  /** The pull that carried `taken` failed: they go out on their own. */
  giveBack(taken: PendingAck[]): void {
    if (taken.length === 0) return
    this.#pending.unshift(...taken)
    this.#sending ??= this.#sendAll(0)
  }

  /** Waits until every queued ack is sent (or given up), at most `timeoutMs`; then drops the rest. */
  async flush(timeoutMs: number): Promise<void> {
    if (!this.#sending) return
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, timeoutMs, 'timeout')))
    const result = await Promise.race([this.#sending, timedOut])
    clearTimeout(timer)
    if (result === 'timeout') {
      this.#closing.abort()
      this.#giveUp(this.#pending.splice(0), 'the agent is stopping')
    }
  }

  async #sendAll(rideWaitMs: number): Promise<void> {
    // Let the acks of work finishing in this turn join the batch, or a pull due soon take them.
    if (rideWaitMs > 0) {
      const woken = new Promise<void>((resolve) => (this.#wake = resolve))
      await Promise.race([woken, sleep(rideWaitMs, undefined, { signal: this.#closing.signal }).catch(() => undefined)])
      this.#wake = undefined
    } else await new Promise((resolve) => setImmediate(resolve))
    while (this.#pending.length > 0) {
      this.#giveUp(this.#takeExpired(), 'the lease has expired')
      const batch = this.#pending.splice(0, MAX_ACKS_PER_CALL)
      if (batch.length === 0) break
      try {
        this.#report(batch, await this.#client.ack(batch.map((pending) => pending.item)))
        this.#failures = 0
      } catch (error) {
        if (isAgentError(error) && error.code === 'agent.cloud_rejected') {
          // The cloud refused the batch itself (a bug on one side): resending it cannot help.
          this.#giveUp(batch, error.message)
          continue
        }
        this.#pending.unshift(...batch)
        this.#failures += 1
        const delayMs = Math.min(this.#maxRetryDelayMs, RETRY_BASE_DELAY_IN_MS * 2 ** (this.#failures - 1))
        this.#log.warn({ acks: batch.length, retryInMs: delayMs, error: (error as Error).message }, 'could not send acks to the cloud; retrying')
        await sleep(delayMs, undefined, { signal: this.#closing.signal }).catch(() => undefined)
      }
    }
    this.#sending = undefined
  }

  #report(batch: PendingAck[], response: AckResponse): void {
    const byLease = new Map(response.results.map((result) => [result.lease, result]))
    for (const pending of batch) {
      const result = byLease.get(pending.item.lease)
      const fields = { requestId: pending.requestId, outcome: pending.item.outcome }
      if (result?.status === 'lease_lost') this.#log.warn(fields, 'the lease expired before the ack: the cloud will redo this request (harmless: same idempotency key)')
      else if (result?.status === 'dead_lettered') this.#log.warn(fields, 'retry asked but the attempts are used up: the request is dead-lettered')
      else if (result?.status === 'invalid_lease') this.#log.error(fields, 'the cloud did not recognise the lease of this ack')
      pending.settle()
    }
  }

  #takeExpired(): PendingAck[] {
    const now = this.#now()
    const expired = this.#pending.filter((pending) => pending.giveUpAt <= now)
    this.#pending = this.#pending.filter((pending) => pending.giveUpAt > now)
    return expired
  }

  #giveUp(acks: PendingAck[], reason: string): void {
    for (const pending of acks) {
      this.#log.warn({ requestId: pending.requestId, outcome: pending.item.outcome, reason }, 'ack not delivered: the cloud will redeliver the request')
      pending.settle()
    }
  }
}

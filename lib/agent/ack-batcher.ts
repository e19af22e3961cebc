import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import type { AckItem, AckResponse } from '../relay/agent-api.ts'
import type { AgentApiClient } from './api-client.ts'
import { isAgentError } from './errors.ts'

/** The Agent API takes at most 100 acks per call. */
const MAX_ACKS_PER_CALL = 100
const RETRY_BASE_DELAY_IN_MS = 250

interface PendingAck {
  item: AckItem
  requestId: string
  /** Past this (epoch ms) the lease has expired: the cloud redelivers anyway, so stop trying. */
  giveUpAt: number
  settle: () => void
}

/**
 * Sends acks in batches: acks that finish in the same turn of the event loop go in one call.
 * A failed call is retried with backoff until the lease would have expired; an ack that never
 * arrives only means a redelivery, which the idempotency key makes harmless.
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

  constructor(options: { client: AgentApiClient; log: Logger; now: () => number; maxRetryDelayMs: number }) {
    this.#client = options.client
    this.#log = options.log
    this.#now = options.now
    this.#maxRetryDelayMs = options.maxRetryDelayMs
  }

  /** Queues an ack; resolves when the cloud recorded it or it was given up. */
  add(item: AckItem, requestId: string, giveUpAt: number): Promise<void> {
    return new Promise((settle) => {
      this.#pending.push({ item, requestId, giveUpAt, settle })
      this.#sending ??= this.#sendAll()
    })
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

  async #sendAll(): Promise<void> {
    // Let the acks of work finishing in this turn join the batch.
    await new Promise((resolve) => setImmediate(resolve))
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

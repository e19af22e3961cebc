import { setTimeout as sleep } from 'node:timers/promises'
import { retryableError, type AgentError } from '../errors.ts'
import type { Delivery, DeliveryOutcome, Sink } from '../sinks/sink.ts'
import { MAX_IN_RUN_WAIT_IN_SECONDS, retryDelaySeconds, withRetries, type RetryOptions } from './retry.ts'

/**
 * Delivers one chunk through the sink's batch path and answers one outcome per delivery. A batch
 * that fails as a whole (the sink threw a retryable error) is retried; so are the deliveries the
 * sink answered with a retryable error, on their own. What still fails after `attempts` comes
 * back `{ok: false}` (the run rejects it); a permanent batch failure is thrown. With `sliceSize`
 * the chunk goes in slices of that many, one slice after the other.
 */
export async function deliverChunk(sink: Sink, chunk: readonly Delivery[], options: RetryOptions & { sliceSize?: number }): Promise<DeliveryOutcome[]> {
  const size = options.sliceSize ?? chunk.length
  if (size < chunk.length) {
    // One slice after the other: at most `sliceSize` deliveries in flight.
    const outcomes: DeliveryOutcome[] = []
    for (let start = 0; start < chunk.length; start += size) outcomes.push(...(await deliverChunk(sink, chunk.slice(start, start + size), { ...options, sliceSize: size })))
    return outcomes
  }
  const outcomes = new Array<DeliveryOutcome>(chunk.length)
  let pending = chunk.map((_delivery, index) => index)
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    const batch = pending
    const answered = await withRetries(async () => {
      const result = await sink.deliverBatch(batch.map((index) => chunk[index]!), options.signal)
      if (result.length !== batch.length) throw retryableError('agent.deliver_failed', `the sink answered ${result.length} outcomes for ${batch.length} deliveries`)
      return result
    }, options)
    pending = []
    let failure: AgentError | undefined
    answered.forEach((outcome, position) => {
      outcomes[batch[position]!] = outcome
      if (!outcome.ok && outcome.error.retryable && attempt < options.attempts) {
        pending.push(batch[position]!)
        failure ??= outcome.error
      }
    })
    if (failure) {
      if ((failure.retryAfterSeconds ?? 0) > MAX_IN_RUN_WAIT_IN_SECONDS) throw failure
      await sleep(retryDelaySeconds(failure, attempt, options.baseDelaySeconds) * 1000, undefined, options.signal ? { signal: options.signal } : {})
    }
  }
  return outcomes
}

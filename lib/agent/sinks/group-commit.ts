import { optionalCapabilities, type Delivery, type DeliveryOutcome, type Sink, type SinkResult } from './sink.ts'

/** Deliveries grouped into one batch at most (a database sink writes one transaction per batch). */
export const DEFAULT_MAX_BATCH = 100

interface Waiting {
  delivery: Delivery
  signal: AbortSignal | undefined
  resolve: (result: SinkResult) => void
  reject: (error: unknown) => void
}

/** A sink that also takes one delivery at a time, grouping concurrent ones (see groupCommit). */
export interface GroupedSink extends Sink {
  /** Delivers one record: resolves with its result, rejects with its AgentError. */
  deliver(delivery: Delivery, signal?: AbortSignal): Promise<SinkResult>
}

/**
 * Group commit for the real-time path: a delivery goes to the sink at once (no added delay) while
 * fewer than the sink's `concurrentBatches` batches are being written; deliveries that become
 * ready while all are busy wait and then go together, up to `maxBatch`, as one `deliverBatch`
 * (one transaction, one fsync). A file sink writes one batch at a time, a database sink as many
 * as its pool has connections, and HTTP or module sinks never group (each delivery is its own
 * call, so a slow one holds up no other). Each caller gets its own outcome. Deliveries of one
 * record never share a batch: the cloud keeps one request per record in flight (invariant 3).
 */
export function groupCommit(sink: Sink, { maxBatch = DEFAULT_MAX_BATCH }: { maxBatch?: number } = {}): GroupedSink {
  const waiting: Waiting[] = []
  const inFlight = new Set<Promise<void>>()
  const lanes = sink.concurrentBatches ?? 1

  const writeBatch = async (batch: Waiting[]) => {
    const live = batch.filter((item) => !item.signal?.aborted)
    for (const item of batch) if (item.signal?.aborted) item.reject(item.signal.reason)
    if (live.length === 0) return
    try {
      const outcomes = await sink.deliverBatch(live.map((item) => item.delivery), batchSignal(live))
      live.forEach((item, index) => settle(item, outcomes[index]))
    } catch (error) {
      for (const item of live) item.reject(error)
    }
  }

  const startBatches = () => {
    while (waiting.length > 0 && inFlight.size < lanes) {
      const running: Promise<void> = writeBatch(waiting.splice(0, maxBatch)).finally(() => {
        inFlight.delete(running)
        startBatches()
      })
      inFlight.add(running)
    }
  }

  return {
    ...optionalCapabilities(sink),
    deliverBatch: (deliveries, signal) => sink.deliverBatch(deliveries, signal),
    close: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
      await sink.close()
    },
    deliver(delivery, signal) {
      return new Promise<SinkResult>((resolve, reject) => {
        waiting.push({ delivery, signal, resolve, reject })
        startBatches()
      })
    },
  }
}

function settle(item: Waiting, outcome: DeliveryOutcome | undefined): void {
  if (!outcome) item.reject(new Error('the sink answered fewer outcomes than deliveries'))
  else if (outcome.ok) {
    const { ok: _ok, ...result } = outcome
    item.resolve(result)
  } else item.reject(outcome.error)
}

/** Aborts the batch only when every caller in it aborted (the agent stopping aborts them all). */
function batchSignal(items: Waiting[]): AbortSignal | undefined {
  const signals = items.map((item) => item.signal)
  if (signals.some((signal) => signal === undefined)) return undefined
  if (signals.length === 1) return signals[0]
  const controller = new AbortController()
  let aborted = 0
  for (const signal of signals as AbortSignal[]) {
    signal.addEventListener('abort', () => {
      aborted += 1
      if (aborted === signals.length) controller.abort(signal.reason)
    }, { once: true })
  }
  return controller.signal
}

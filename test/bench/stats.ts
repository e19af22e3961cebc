/** Summary of a sample: median and 99th percentile (nearest rank), plus how many values it has. */
export interface Summary {
  median: number
  p99: number
  /** The slow tail of a rate: its 1st percentile (the p99 of the time per item). */
  p1: number
  count: number
}

/** Nearest-rank percentile of already sorted values (q in 0..1). */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

/** Median, p99 and p1 of a sample. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length / 2
  const median = sorted.length === 0 ? Number.NaN : sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2
  return { median, p99: percentile(sorted, 0.99), p1: percentile(sorted, 0.01), count: sorted.length }
}

/**
 * Rates per second from event times (performance.now() ms) over [startMs, endMs], in buckets of
 * `bucketMs`: the spread of a throughput, not only its mean.
 */
export function bucketRates(eventTimes: readonly number[], startMs: number, endMs: number, bucketMs: number): number[] {
  const buckets = new Array<number>(Math.max(1, Math.floor((endMs - startMs) / bucketMs))).fill(0)
  for (const time of eventTimes) {
    const index = Math.floor((time - startMs) / bucketMs)
    if (index >= 0 && index < buckets.length) buckets[index]! += 1
  }
  return buckets.map((count) => (count * 1000) / bucketMs)
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

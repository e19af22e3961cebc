/**
 * The agent's metrics, written as Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Small enough not to need a client library.
 */

/** Seconds; from fast local deliveries to retried slow ones. */
const LATENCY_BUCKETS_IN_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]

type Labels = Record<string, string>

class Series<T> {
  readonly values = new Map<string, { labels: Labels; value: T }>()
  get(labels: Labels, initial: () => T): { labels: Labels; value: T } {
    let entry = this.find(labels)
    if (!entry) this.values.set(keyOf(labels), (entry = { labels, value: initial() }))
    return entry
  }
  find(labels: Labels): { labels: Labels; value: T } | undefined {
    return this.values.get(keyOf(labels))
  }
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort())

interface Histogram {
  buckets: number[]
  sum: number
  count: number
}

const COUNTERS = {
  pulled: 'Leases received from the cloud.',
  delivered: 'Requests delivered to the sink (upserts and deletes).',
  failed: 'Requests acked as failed (dead-lettered by the cloud).',
  retried: 'Requests acked for a retry.',
  held: 'Requests handed back without spending an attempt because the far side was unavailable (outage or open circuit).',
  skipped_unchanged: 'Requests not delivered because the content equals the last delivery (loop prevention).',
  skipped_stale: 'Requests the sink did not apply because it already held an equal or newer version.',
  skipped_filtered: 'Requests not delivered because the transform gave nothing.',
} as const
export type CounterName = keyof typeof COUNTERS

const HISTOGRAMS = {
  end_to_end_latency_seconds: 'From the webhook reaching the cloud to the sink accepting the delivery.',
  processing_duration_seconds: 'Time spent on one lease (fetch, transform, deliver, write-back).',
} as const
export type HistogramName = keyof typeof HISTOGRAMS

const PREFIX = 'hookferry_agent_'

/** Counters per source, the in-flight gauge and two latency histograms. */
export class AgentMetrics {
  readonly #counters = new Map<CounterName, Series<number>>()
  readonly #histograms = new Map<HistogramName, Series<Histogram>>()
  #inFlight = 0
  readonly #breakers = new Map<string, number>()

  count(name: CounterName, source: string, by = 1): void {
    let series = this.#counters.get(name)
    if (!series) this.#counters.set(name, (series = new Series()))
    series.get({ source }, () => 0).value += by
  }

  setInFlight(value: number): void {
    this.#inFlight = value
  }

  /** 1 while the breaker for that far side is open (see breakers.ts). */
  setBreakerOpen(breaker: string, open: boolean): void {
    this.#breakers.set(breaker, open ? 1 : 0)
  }

  observe(name: HistogramName, source: string, seconds: number): void {
    let series = this.#histograms.get(name)
    if (!series) this.#histograms.set(name, (series = new Series()))
    const histogram = series.get({ source }, () => ({ buckets: LATENCY_BUCKETS_IN_SECONDS.map(() => 0), sum: 0, count: 0 })).value
    LATENCY_BUCKETS_IN_SECONDS.forEach((bound, index) => {
      if (seconds <= bound) histogram.buckets[index]! += 1
    })
    histogram.sum += seconds
    histogram.count += 1
  }

  /** A counter's value (0 when never counted), for tests and status output. */
  counter(name: CounterName, source: string): number {
    return this.#counters.get(name)?.find({ source })?.value ?? 0
  }

  /** The exposition text. */
  render(): string {
    const lines: string[] = []
    for (const [name, help] of Object.entries(COUNTERS) as [CounterName, string][]) {
      lines.push(`# HELP ${PREFIX}${name}_total ${help}`, `# TYPE ${PREFIX}${name}_total counter`)
      for (const { labels, value } of this.#counters.get(name)?.values.values() ?? []) lines.push(`${PREFIX}${name}_total${labelText(labels)} ${value}`)
    }
    lines.push(`# HELP ${PREFIX}in_flight Leases being worked on now.`, `# TYPE ${PREFIX}in_flight gauge`, `${PREFIX}in_flight ${this.#inFlight}`)
    lines.push(`# HELP ${PREFIX}circuit_open 1 while the circuit breaker of that far side is open (its work is held).`, `# TYPE ${PREFIX}circuit_open gauge`)
    for (const [breaker, value] of this.#breakers) lines.push(`${PREFIX}circuit_open${labelText({ breaker })} ${value}`)
    for (const [name, help] of Object.entries(HISTOGRAMS) as [HistogramName, string][]) {
      lines.push(`# HELP ${PREFIX}${name} ${help}`, `# TYPE ${PREFIX}${name} histogram`)
      for (const { labels, value } of this.#histograms.get(name)?.values.values() ?? []) {
        LATENCY_BUCKETS_IN_SECONDS.forEach((bound, index) => lines.push(`${PREFIX}${name}_bucket${labelText({ ...labels, le: String(bound) })} ${value.buckets[index]}`))
        lines.push(`${PREFIX}${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${value.count}`)
        lines.push(`${PREFIX}${name}_sum${labelText(labels)} ${value.sum}`, `${PREFIX}${name}_count${labelText(labels)} ${value.count}`)
      }
    }
    return `${lines.join('\n')}\n`
  }
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
  return parts.length > 0 ? `{${parts.join(',')}}` : ''
}

import type { ServerConfig } from '../config/server-config.ts'
import type { Ledger } from '../ports/ledger.ts'
import type { WorkQueue } from '../ports/queue.ts'

/** Structured logger (Powertools Logger on AWS, pino locally). Never pass secrets. */
export interface Log {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** Counters and gauges (Powertools metrics/EMF on AWS; in-process locally). */
export interface Metrics {
  count(name: string, value?: number, dimensions?: Record<string, string>): void
  /** With dimensions (e.g. a sync job's source and name) the value is its own series. */
  gauge(name: string, value: number, unit?: 'Seconds' | 'Count', dimensions?: Record<string, string>): void
}

/** Everything the relay core needs; the runtime (AWS or embedded) builds it once. */
export interface RelayDeps {
  config: ServerConfig
  ledger: Ledger
  queue: WorkQueue
  log: Log
  metrics: Metrics
  now: () => Date
  newId: () => string
  random: () => number
  /** Aborted when the embedded server shuts down, to end long polls early. */
  signal?: AbortSignal
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} }

/** Used only before a runtime exists (e.g. the config failed to load): JSON lines on stderr. */
export const stderrLog: Log = {
  debug() {},
  info() {},
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'warn', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
}
export const noMetrics: Metrics = { count() {}, gauge() {} }

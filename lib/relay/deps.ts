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

/**
 * The storage calls of one webhook made as one unit (the embedded store's group commit): the
 * calls answer at once, and `durable()` resolves once all of them are on disk. Nothing learned
 * from them may leave the process (no 2xx) before that.
 */
export interface StorageUnit {
  ledger: Ledger
  queue: WorkQueue
  durable(): Promise<void>
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
  /** Embedded only: a new StorageUnit (on AWS every call is durable when it answers). */
  storageUnit?: () => StorageUnit
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

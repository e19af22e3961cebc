import type { Watermark } from '../../../relay/sync-types.ts'

/** One record as a list read it: its id, its cursor value, and the record (or that it is gone). */
export interface ListedRecord {
  id: string
  cursor: string | number
  op: 'upsert' | 'delete'
  /** The record (for a delete: the listed item, if any). */
  record?: unknown
}

/** What a run asks a list for. */
export interface ListQuery {
  /** Strictly after this position (absent: from the beginning). */
  after?: Watermark
  /** ISO upper bound for `time` cursors: later records wait for the next run. */
  until?: string
  /** Only these ids (resend on request). */
  ids?: readonly string[]
  /** Fills `{source}`, `{job}`, `{runId}`. */
  source: string
  job: string
  runId: string
}

/**
 * Reads changed records, a page at a time, in the source's order (see `order` in
 * sync-config.ts). Pages are pulled, so memory is bounded by one page (plus one read ahead).
 * Transient trouble is retried inside (honouring Retry-After); what is left is thrown as an
 * AgentError.
 */
export interface ListConnector {
  readonly order: 'cursor-key' | 'cursor' | 'none'
  readonly cursorType: 'time' | 'number' | 'text'
  pages(query: ListQuery, signal?: AbortSignal): AsyncIterable<ListedRecord[]>
}

/** Compares two cursor values of one `cursorType` (times by instant, so `Z` and `+00:00` agree). */
export function compareCursors(a: string | number, b: string | number, type: 'time' | 'number' | 'text'): number {
  if (a === b) return 0
  if (type === 'number') return Number(a) - Number(b)
  if (type === 'time') {
    const [left, right] = [timeOf(a), timeOf(b)]
    if (!Number.isNaN(left) && !Number.isNaN(right) && left !== right) return left - right
    // Same millisecond: finer digits (microseconds) still order them as text.
  }
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0
}

function timeOf(value: string | number): number {
  return typeof value === 'number' ? value : Date.parse(value)
}

/** Orders ids: numerically when both are numbers (as text or not), else as text. */
export function compareKeys(a: string | number, b: string | number): number {
  const [left, right] = [Number(a), Number(b)]
  if (String(a).trim() !== '' && String(b).trim() !== '' && Number.isFinite(left) && Number.isFinite(right)) return left - right
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0
}

/** A cursor value as a watermark holds it: numbers stay numbers, dates become ISO text, the rest text. */
export function cursorValue(value: unknown): string | number {
  if (typeof value === 'number') return value
  if (value instanceof Date) return value.toISOString()
  return String(value)
}

import type { SyncJobState, Watermark } from '../sync-types.ts'

/**
 * True when `a` sorts before `b` in `(cursor, key)` order, as far as the cloud can tell: numbers
 * numerically, strings by code unit (ISO times compare correctly). Values of different types are
 * not comparable: false. A wrong answer only ever makes a run re-read records, never skip them.
 */
export function isBefore(a: Watermark, b: Watermark): boolean {
  const order = (x: string | number, y: string | number): number | undefined => {
    if (typeof x !== typeof y) return undefined
    return x < y ? -1 : x > y ? 1 : 0
  }
  const cursor = order(a.cursor, b.cursor)
  if (cursor !== 0) return cursor === -1
  return order(a.key, b.key) === -1
}

/** The job with its watermark moved to `to`, never backwards (a reset is the only way back). */
export function promoteWatermark(job: SyncJobState, to: Watermark, now: Date): SyncJobState {
  if (job.watermark && isBefore(to, job.watermark)) return job
  return { ...job, watermark: to, watermarkAt: now.toISOString() }
}

/** `cursor` or `cursor,key` as typed on the command line; a cursor alone gets key "" (it sorts before every key). */
export function parseWatermark(text: string): Watermark {
  const comma = text.lastIndexOf(',')
  const [cursor, key] = comma === -1 ? [text, ''] : [text.slice(0, comma), text.slice(comma + 1)]
  // A plain number (no leading zeros, so "00123" stays an id) is a number; anything else a string.
  const value = (part: string): string | number => (/^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(part) ? Number(part) : part)
  // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, value('') is '' as well (the check only says so)
  return { cursor: value(cursor), key: key === '' ? '' : value(key) }
}

/** How a watermark prints: `cursor` `key` JSON-ish, short. */
export function formatWatermark(watermark: Watermark | undefined): string {
  if (!watermark) return ''
  return watermark.key === '' ? String(watermark.cursor) : `${String(watermark.cursor)},${String(watermark.key)}`
}

import { describe, expect, it } from 'vitest'
import { formatWatermark, isBefore, parseWatermark, promoteWatermark } from '../../../lib/relay/sync/watermark.ts'
import type { SyncJobState } from '../../../lib/relay/sync-types.ts'

/**
 * The job watermark's own rules (sync-runs.test.ts walks them through runs): the `(cursor, key)`
 * order, a watermark that never moves back, and the command line's `cursor[,key]` form.
 */

const now = new Date('2031-03-01T12:00:00.000Z')

describe('isBefore: (cursor, key) order', () => {
  it('is decided by the cursor whatever the keys, in both directions', () => {
    expect(isBefore({ cursor: 9, key: 'z' }, { cursor: 10, key: 'a' })).toBe(true)
    expect(isBefore({ cursor: 10, key: 'a' }, { cursor: 9, key: 'z' })).toBe(false)
    expect(isBefore({ cursor: '2031-01-02', key: 'a' }, { cursor: '2031-01-01', key: 'z' })).toBe(false)
    expect(isBefore({ cursor: '2031-01-01', key: 'z' }, { cursor: '2031-01-02', key: 'a' })).toBe(true)
  })

  it('falls back to the key on equal cursors: before only when the key is smaller', () => {
    expect(isBefore({ cursor: 5, key: 'b' }, { cursor: 5, key: 'c' })).toBe(true)
    expect(isBefore({ cursor: 5, key: 'c' }, { cursor: 5, key: 'b' })).toBe(false)
    expect(isBefore({ cursor: 5, key: 'c' }, { cursor: 5, key: 'c' })).toBe(false)
    expect(isBefore({ cursor: 5, key: 2 }, { cursor: 5, key: 10 })).toBe(true)
    expect(isBefore({ cursor: 5, key: 10 }, { cursor: 5, key: 2 })).toBe(false)
    // A cursor alone (key "") sorts before every key of that cursor.
    expect(isBefore({ cursor: 5, key: '' }, { cursor: 5, key: 'a' })).toBe(true)
  })

  it('claims no order between values of different types, cursors or keys, either way round', () => {
    expect(isBefore({ cursor: 9, key: 1 }, { cursor: '10', key: 1 })).toBe(false)
    expect(isBefore({ cursor: '10', key: 1 }, { cursor: 9, key: 1 })).toBe(false)
    expect(isBefore({ cursor: 5, key: 1 }, { cursor: 5, key: 'a' })).toBe(false)
    expect(isBefore({ cursor: 5, key: 'a' }, { cursor: 5, key: 1 })).toBe(false)
  })
})

describe('promoteWatermark: never backwards', () => {
  it('sets the first watermark and stamps when', () => {
    expect(promoteWatermark({}, { cursor: 5, key: 'a' }, now)).toEqual({ watermark: { cursor: 5, key: 'a' }, watermarkAt: now.toISOString() })
  })

  it('moves forward, and confirms an equal position with a new date, keeping the rest of the job', () => {
    const job: SyncJobState = { watermark: { cursor: 5, key: 'a' }, watermarkAt: '2031-01-01T00:00:00.000Z', scheduledRuns: 3 }
    expect(promoteWatermark(job, { cursor: 6, key: 'a' }, now)).toEqual({ watermark: { cursor: 6, key: 'a' }, watermarkAt: now.toISOString(), scheduledRuns: 3 })
    expect(promoteWatermark(job, { cursor: 5, key: 'a' }, now)).toEqual({ watermark: { cursor: 5, key: 'a' }, watermarkAt: now.toISOString(), scheduledRuns: 3 })
  })

  it('leaves the job as it was for a position before its watermark', () => {
    const job: SyncJobState = { watermark: { cursor: 5, key: 'b' }, watermarkAt: '2031-01-01T00:00:00.000Z' }
    expect(promoteWatermark(job, { cursor: 5, key: 'a' }, now)).toBe(job)
    expect(promoteWatermark(job, { cursor: 4, key: 'z' }, now)).toBe(job)
  })
})

describe('parseWatermark: cursor[,key] from the command line', () => {
  it('splits at the last comma, so a cursor may hold commas and a trailing comma means no key', () => {
    expect(parseWatermark('a,b,c')).toEqual({ cursor: 'a,b', key: 'c' })
    expect(parseWatermark('7,')).toEqual({ cursor: 7, key: '' })
    expect(parseWatermark(',k')).toEqual({ cursor: '', key: 'k' })
  })

  it('reads plain numbers (negative, decimal, zero, up to 15 digits) as numbers, keys too', () => {
    expect(parseWatermark('-42,7')).toEqual({ cursor: -42, key: 7 })
    expect(parseWatermark('0,1.25')).toEqual({ cursor: 0, key: 1.25 })
    expect(parseWatermark('123456789012345')).toEqual({ cursor: 123_456_789_012_345, key: '' })
  })

  it('keeps anything else as text: leading zeros, 16 digits, partial numbers, signs and dots out of place', () => {
    for (const text of ['007', '1234567890123456', '12abc', 'abc12', '1.', '.5', '+5', '1e5', '--1', '1.2.3', ' 1']) {
      expect(parseWatermark(text), text).toEqual({ cursor: text, key: '' })
      expect(parseWatermark(`1,${text}`), text).toEqual({ cursor: 1, key: text })
    }
  })
})

describe('formatWatermark', () => {
  it('prints nothing for no watermark, the cursor alone for key "", cursor,key otherwise', () => {
    expect(formatWatermark(undefined)).toBe('')
    expect(formatWatermark({ cursor: 1_700_000_000, key: '' })).toBe('1700000000')
    expect(formatWatermark({ cursor: '2031-01-01', key: 'cus_42' })).toBe('2031-01-01,cus_42')
    expect(formatWatermark({ cursor: 5, key: 0 })).toBe('5,0')
  })

  it('prints what parseWatermark reads back', () => {
    for (const text of ['2031-01-01T00:00:00Z,cus_42', '17,00123', 'a,b,c', '-3']) expect(formatWatermark(parseWatermark(text))).toBe(text)
  })
})

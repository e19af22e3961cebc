import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_DELAY_IN_SECONDS, fullJitterDelaySeconds } from '../../../lib/relay/backoff.ts'

/** The retry delay of invariant 5: exponential backoff with full jitter, bounded. */
const bounds = fc.record({ baseDelaySeconds: fc.double({ min: 0.001, max: 120, noNaN: true }), maxDelaySeconds: fc.double({ min: 0.001, max: 100_000, noNaN: true }) })
const attempts = fc.integer({ min: -3, max: 80 })
/** A random() result: [0, 1). */
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })

/** What the delay may reach at most for this attempt: base · 2^(attempt-1), capped. */
const ceilingOf = (attempt: number, { baseDelaySeconds, maxDelaySeconds }: { baseDelaySeconds: number; maxDelaySeconds: number }) =>
  Math.min(maxDelaySeconds, baseDelaySeconds * 2 ** Math.min(Math.max(attempt - 1, 0), 30), MAX_DELAY_IN_SECONDS)

describe('fullJitterDelaySeconds', () => {
  it('is random() times the ceiling, in whole milliseconds: full jitter over [0, ceiling]', () => {
    fc.assert(
      fc.property(attempts, bounds, unit, (attempt, config, r) => {
        const delay = fullJitterDelaySeconds(attempt, config, () => r)
        expect(Math.abs(delay * 1000 - Math.round(delay * 1000))).toBeLessThan(1e-6)
        expect(Math.abs(delay - r * ceilingOf(attempt, config))).toBeLessThanOrEqual(0.0005 + 1e-9)
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThanOrEqual(Math.min(config.maxDelaySeconds, MAX_DELAY_IN_SECONDS) + 0.0005)
      }),
    )
  })

  it('doubles its ceiling with every attempt until the maximum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 1000 }), (attempt, baseMs) => {
        const config = { baseDelaySeconds: baseMs / 1000, maxDelaySeconds: 10_000 }
        const almostOne = () => 1 - Number.EPSILON
        const now = fullJitterDelaySeconds(attempt, config, almostOne)
        const next = fullJitterDelaySeconds(attempt + 1, config, almostOne)
        if (config.baseDelaySeconds * 2 ** attempt <= config.maxDelaySeconds) expect(next).toBeCloseTo(2 * now, 2)
        else expect(next).toBeCloseTo(config.maxDelaySeconds, 2)
      }),
    )
  })

  it('grows from the base: 2, 4, 8, 16 … then stays at the maximum', () => {
    const config = { baseDelaySeconds: 2, maxDelaySeconds: 900 }
    const ceilings = Array.from({ length: 12 }, (_, index) => fullJitterDelaySeconds(index + 1, config, () => 1 - Number.EPSILON))
    expect(ceilings).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900])
  })

  it('treats attempt 0 or below as the first attempt (the base), and never goes below zero', () => {
    const config = { baseDelaySeconds: 3, maxDelaySeconds: 900 }
    for (const attempt of [-5, 0, 1]) expect(fullJitterDelaySeconds(attempt, config, () => 1 - Number.EPSILON)).toBe(3)
    expect(fullJitterDelaySeconds(7, config, () => 0)).toBe(0)
  })

  it('stays finite and within the queue\'s limit for any attempt, whatever maximum is configured', () => {
    const huge = { baseDelaySeconds: 2, maxDelaySeconds: 10 ** 9 }
    expect(fullJitterDelaySeconds(10_000, huge, () => 1 - Number.EPSILON)).toBe(MAX_DELAY_IN_SECONDS)
    expect(fullJitterDelaySeconds(1_000_000, { baseDelaySeconds: 0.001, maxDelaySeconds: 10 ** 9 }, () => 0.5)).toBe(MAX_DELAY_IN_SECONDS / 2)
    // The exponent stops at 30: 1 µs · 2^30 is about 18 minutes, where 2^39 would be 6 days.
    expect(fullJitterDelaySeconds(40, { baseDelaySeconds: 0.000001, maxDelaySeconds: 10 ** 9 }, () => 0.5)).toBe(Math.round(0.000001 * 2 ** 30 * 500) / 1000)
  })

  it('spreads retries over the whole range with Math.random by default', () => {
    const config = { baseDelaySeconds: 10, maxDelaySeconds: 900 }
    const delays = Array.from({ length: 400 }, () => fullJitterDelaySeconds(3, config))
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(0)
      expect(delay).toBeLessThanOrEqual(40)
    }
    // Full jitter, not "equal jitter" (half fixed): the low quarter of the range is used too.
    expect(delays.some((delay) => delay < 10)).toBe(true)
    expect(delays.some((delay) => delay > 30)).toBe(true)
    expect(new Set(delays).size).toBeGreaterThan(300)
  })
})

import { SourceError } from '../source-error.ts'

const UNIX_SECONDS = /^\d{1,12}$/

/** Whole unix seconds of `now`: the unit every supported provider signs. */
export function unixSeconds(now: Date): number {
  return Math.floor(now.getTime() / 1000)
}

/**
 * Throws unless `value` is a unix time in seconds within `toleranceSeconds` of `now`. Checked
 * both ways: an old timestamp is a replay, one from the future is a clock fault or a forgery.
 */
export function assertTimestampWithinTolerance(value: string, now: Date, toleranceSeconds: number, what: string): void {
  if (!UNIX_SECONDS.test(value)) {
    throw new SourceError('source.signature_invalid', `${what} is not a unix time in seconds`)
  }
  const ageSeconds = unixSeconds(now) - Number(value)
  if (Math.abs(ageSeconds) > toleranceSeconds) {
    const direction = ageSeconds > 0 ? 'old' : 'far in the future'
    throw new SourceError(
      'source.timestamp_out_of_tolerance',
      `${what} is ${Math.abs(ageSeconds)} s ${direction}; the tolerance is ${toleranceSeconds} s`,
    )
  }
}

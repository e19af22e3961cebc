/** Upper bound of a single SQS visibility change / delay. */
export const MAX_DELAY_IN_SECONDS = 43_200

/**
 * Exponential backoff with full jitter: a random delay in [0, min(max, base * 2^(attempt-1))].
 * Full jitter spreads retries of many failing records instead of synchronising them.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function fullJitterDelaySeconds(
  attempt: number,
  { baseDelaySeconds, maxDelaySeconds }: { baseDelaySeconds: number; maxDelaySeconds: number },
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30)
  const ceiling = Math.min(maxDelaySeconds, baseDelaySeconds * 2 ** exponent, MAX_DELAY_IN_SECONDS)
  return Math.round(random() * ceiling * 1000) / 1000
}

import { timingSafeEqual } from 'node:crypto'

/**
 * Compares two values in time that does not depend on where they differ. Values of different
 * lengths are padded to the same length and still compared in full, so there is no early exit.
 */
export function constantTimeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const left = typeof a === 'string' ? Buffer.from(a, 'utf8') : a
  const right = typeof b === 'string' ? Buffer.from(b, 'utf8') : b
  const length = Math.max(left.length, right.length)
  const paddedLeft = Buffer.alloc(length)
  const paddedRight = Buffer.alloc(length)
  left.copy(paddedLeft)
  right.copy(paddedRight)
  const sameBytes = timingSafeEqual(paddedLeft, paddedRight)
  return sameBytes && left.length === right.length
}

/**
 * True when any provided value equals any expected one (several secrets during a rotation,
 * several signatures in one header). Every pair is compared: no short-circuit on a match.
 */
export function matchesAny(expected: readonly (string | Buffer)[], provided: readonly (string | Buffer)[]): boolean {
  let matched = false
  for (const candidate of provided) {
    for (const value of expected) {
      const equal = constantTimeEqual(value, candidate)
      matched = matched || equal
    }
  }
  return matched
}

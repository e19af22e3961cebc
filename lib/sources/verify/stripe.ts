import { SourceError } from '../source-error.ts'
import { assertAnySignatureMatches, requireHeader, signingSecret } from './checks.ts'
import { hmacDigest } from './hmac-digest.ts'
import { assertTimestampWithinTolerance, unixSeconds } from './timestamp.ts'
import type { SignOptions, VerifyConfigOf, VerifyInput } from './types.ts'

// https://docs.stripe.com/webhooks#verify-manually
const SIGNATURE_HEADER = 'stripe-signature'

function stripeSignature(secret: string, timestamp: string, rawBody: Buffer): string {
  return hmacDigest('sha256', secret, [`${timestamp}.`, rawBody]).toString('hex')
}

/** Splits "t=..,v1=..,v1=..,v0=..": the first t, and every v1 (other schemes are ignored, as Stripe advises). */
function parseStripeSignatureHeader(value: string): { timestamp: string | undefined; signatures: string[] } {
  let timestamp: string | undefined
  const signatures: string[] = []
  for (const item of value.split(',')) {
    const equals = item.indexOf('=')
    if (equals < 0) continue
    const key = item.slice(0, equals)
    const itemValue = item.slice(equals + 1)
    if (key === 't') timestamp ??= itemValue
    else if (key === 'v1') signatures.push(itemValue)
  }
  return { timestamp, signatures }
}

/** Verifies Stripe-Signature: hex HMAC-SHA256 of "{t}.{body}", then the timestamp tolerance. */
export function verifyStripeSignature(config: VerifyConfigOf<'stripe'>, { headers, rawBody, now }: VerifyInput): void {
  const { timestamp, signatures } = parseStripeSignatureHeader(requireHeader(headers, SIGNATURE_HEADER))
  if (timestamp === undefined || signatures.length === 0) {
    throw new SourceError('source.signature_invalid', `the ${SIGNATURE_HEADER} header needs a t= timestamp and a v1= signature`)
  }
  const expected = config.secrets.map((secret) => stripeSignature(secret, timestamp, rawBody))
  assertAnySignatureMatches(expected, signatures, SIGNATURE_HEADER)
  assertTimestampWithinTolerance(timestamp, now, config.toleranceSeconds, `the ${SIGNATURE_HEADER} timestamp`)
}

/** The Stripe-Signature header Stripe would send with `rawBody` at `now`. */
export function signStripeWebhook(config: VerifyConfigOf<'stripe'>, rawBody: Buffer, { now }: SignOptions): Record<string, string> {
  const timestamp = String(unixSeconds(now))
  const signature = stripeSignature(signingSecret(config.secrets), timestamp, rawBody)
  return { [SIGNATURE_HEADER]: `t=${timestamp},v1=${signature}` }
}

import { assertAnySignatureMatches, requireHeader, signingSecret } from './checks.ts'
import { hmacDigest } from './hmac-digest.ts'
import { assertTimestampWithinTolerance, unixSeconds } from './timestamp.ts'
import type { SignOptions, VerifyConfigOf, VerifyInput } from './types.ts'

// https://api.slack.com/authentication/verifying-requests-from-slack
const SIGNATURE_HEADER = 'x-slack-signature'
const TIMESTAMP_HEADER = 'x-slack-request-timestamp'

function slackSignature(secret: string, timestamp: string, rawBody: Buffer): string {
  return `v0=${hmacDigest('sha256', secret, [`v0:${timestamp}:`, rawBody]).toString('hex')}`
}

/** Verifies X-Slack-Signature: "v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{body}", then the tolerance. */
export function verifySlackSignature(config: VerifyConfigOf<'slack'>, { headers, rawBody, now }: VerifyInput): void {
  const provided = requireHeader(headers, SIGNATURE_HEADER)
  const timestamp = requireHeader(headers, TIMESTAMP_HEADER)
  const expected = config.secrets.map((secret) => slackSignature(secret, timestamp, rawBody))
  assertAnySignatureMatches(expected, [provided], SIGNATURE_HEADER)
  assertTimestampWithinTolerance(timestamp, now, config.toleranceSeconds, `the ${TIMESTAMP_HEADER} header`)
}

/** The timestamp and signature headers Slack would send with `rawBody` at `now`. */
export function signSlackWebhook(config: VerifyConfigOf<'slack'>, rawBody: Buffer, { now }: SignOptions): Record<string, string> {
  const timestamp = String(unixSeconds(now))
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: slackSignature(signingSecret(config.secrets), timestamp, rawBody),
  }
}

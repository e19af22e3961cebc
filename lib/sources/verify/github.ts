import { randomUUID } from 'node:crypto'
import { assertAnySignatureMatches, requireHeader, signingSecret } from './checks.ts'
import { hmacDigest } from './hmac-digest.ts'
import type { SignOptions, VerifyConfigOf, VerifyInput } from './types.ts'

// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
const SIGNATURE_HEADER = 'x-hub-signature-256'
/** GitHub's unique id of one delivery (a redelivery keeps it). */
export const GITHUB_DELIVERY_HEADER = 'x-github-delivery'

function githubSignature(secret: string, rawBody: Buffer): string {
  return `sha256=${hmacDigest('sha256', secret, [rawBody]).toString('hex')}`
}

/** Verifies X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body. */
export function verifyGithubSignature(config: VerifyConfigOf<'github'>, { headers, rawBody }: VerifyInput): void {
  const provided = requireHeader(headers, SIGNATURE_HEADER)
  const expected = config.secrets.map((secret) => githubSignature(secret, rawBody))
  assertAnySignatureMatches(expected, [provided], SIGNATURE_HEADER)
}

/** The signature and delivery headers GitHub would send with `rawBody`. */
export function signGithubWebhook(config: VerifyConfigOf<'github'>, rawBody: Buffer, { id }: SignOptions): Record<string, string> {
  return {
    [SIGNATURE_HEADER]: githubSignature(signingSecret(config.secrets), rawBody),
    [GITHUB_DELIVERY_HEADER]: id ?? randomUUID(),
  }
}

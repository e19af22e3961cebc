import { randomUUID } from 'node:crypto'
import { ConfigError } from '../../errors.ts'
import { SourceError } from '../source-error.ts'
import { assertAnySignatureMatches, requireHeader, signingSecret } from './checks.ts'
import { hmacDigest } from './hmac-digest.ts'
import { assertTimestampWithinTolerance, unixSeconds } from './timestamp.ts'
import type { SignOptions, VerifyConfigOf, VerifyInput } from './types.ts'

// https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
// Implemented here rather than with the `standardwebhooks` package: it reads Date.now() (no
// injectable clock), has a fixed tolerance, one error for every failure and signs the body as a
// decoded string rather than its raw bytes.
const SECRET_PREFIX = 'whsec_'
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
/** Svix, the spec's origin, sends the same headers named svix-*. */
const HEADER_FAMILIES = ['webhook', 'svix'] as const
/** The delivery id headers, in the order they are looked up. */
export const STANDARD_WEBHOOK_ID_HEADERS = HEADER_FAMILIES.map((family) => `${family}-id`)

/** The HMAC key of a secret: base64 after the optional "whsec_" prefix. */
function standardWebhookKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  if (!BASE64.test(encoded)) {
    throw new ConfigError('verify.secrets: a standard-webhooks secret is base64, optionally after "whsec_"')
  }
  return Buffer.from(encoded, 'base64')
}

function standardWebhookSignature(secret: string, id: string, timestamp: string, rawBody: Buffer): string {
  return hmacDigest('sha256', standardWebhookKey(secret), [`${id}.${timestamp}.`, rawBody]).toString('base64')
}

const HEADER_SUFFIXES = ['id', 'timestamp', 'signature'] as const

/**
 * "webhook" unless the request carries svix-* headers and no webhook-* one: decided by any of the
 * three, so a svix sender that lacks svix-signature is told about svix-signature.
 */
function headerFamily(headers: Record<string, string>): (typeof HEADER_FAMILIES)[number] {
  const uses = (family: string) => HEADER_SUFFIXES.some((suffix) => headers[`${family}-${suffix}`] !== undefined)
  return !uses('webhook') && uses('svix') ? 'svix' : 'webhook'
}

/** The v1 signatures of a "v1,<base64> v1a,<...>" header; other versions (asymmetric v1a) are ignored. */
function v1Signatures(value: string): string[] {
  return value
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice('v1,'.length))
}

/** Verifies webhook-signature (or svix-signature): base64 HMAC-SHA256 of "{id}.{timestamp}.{body}". */
export function verifyStandardWebhookSignature(
  config: VerifyConfigOf<'standard-webhooks'>,
  { headers, rawBody, now }: VerifyInput,
): void {
  const family = headerFamily(headers)
  const signatureHeader = `${family}-signature`
  const provided = v1Signatures(requireHeader(headers, signatureHeader))
  const id = requireHeader(headers, `${family}-id`)
  const timestamp = requireHeader(headers, `${family}-timestamp`)
  if (provided.length === 0) {
    throw new SourceError('source.signature_invalid', `the ${signatureHeader} header has no v1 signature`)
  }
  const expected = config.secrets.map((secret) => standardWebhookSignature(secret, id, timestamp, rawBody))
  assertAnySignatureMatches(expected, provided, signatureHeader)
  assertTimestampWithinTolerance(timestamp, now, config.toleranceSeconds, `the ${family}-timestamp header`)
}

/** The webhook-id, webhook-timestamp and webhook-signature headers a Standard Webhooks sender would send. */
export function signStandardWebhook(
  config: VerifyConfigOf<'standard-webhooks'>,
  rawBody: Buffer,
  { now, id = `msg_${randomUUID()}` }: SignOptions,
): Record<string, string> {
  const timestamp = String(unixSeconds(now))
  const signature = standardWebhookSignature(signingSecret(config.secrets), id, timestamp, rawBody)
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` }
}

import { randomUUID } from 'node:crypto'
import { assertAnySignatureMatches, requireHeader, signingSecret } from './checks.ts'
import { hmacDigest } from './hmac-digest.ts'
import type { SignOptions, VerifyConfigOf, VerifyInput } from './types.ts'

// https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook
const SIGNATURE_HEADER = 'x-shopify-hmac-sha256'
/** Shopify's id of one webhook delivery, the same on retries. */
export const SHOPIFY_WEBHOOK_ID_HEADER = 'x-shopify-webhook-id'

function shopifySignature(secret: string, rawBody: Buffer): string {
  return hmacDigest('sha256', secret, [rawBody]).toString('base64')
}

/** Verifies X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of the raw body. */
export function verifyShopifySignature(config: VerifyConfigOf<'shopify'>, { headers, rawBody }: VerifyInput): void {
  const provided = requireHeader(headers, SIGNATURE_HEADER)
  const expected = config.secrets.map((secret) => shopifySignature(secret, rawBody))
  assertAnySignatureMatches(expected, [provided], SIGNATURE_HEADER)
}

/** The signature and webhook-id headers Shopify would send with `rawBody`. */
export function signShopifyWebhook(config: VerifyConfigOf<'shopify'>, rawBody: Buffer, { id }: SignOptions): Record<string, string> {
  return {
    [SIGNATURE_HEADER]: shopifySignature(signingSecret(config.secrets), rawBody),
    [SHOPIFY_WEBHOOK_ID_HEADER]: id ?? randomUUID(),
  }
}

import { createHash } from 'node:crypto'
import type { VerifyConfig, VerifyScheme } from '../config/server-config.ts'
import { GITHUB_DELIVERY_HEADER } from './verify/github.ts'
import { SHOPIFY_WEBHOOK_ID_HEADER } from './verify/shopify.ts'
import { STANDARD_WEBHOOK_ID_HEADERS } from './verify/standard-webhooks.ts'

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function bodyField(body: unknown, key: string): string | undefined {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, key)
    ? nonEmpty((body as Record<string, unknown>)[key])
    : undefined
}

/**
 * The id a provider gives each delivery, which stays the same when it retries: a header or a
 * body field, per scheme. Undefined when the scheme has none or the webhook lacks it.
 */
export function providerDeliveryId(
  verify: VerifyScheme | VerifyConfig,
  body: unknown,
  headers: Record<string, string>,
): string | undefined {
  const scheme = typeof verify === 'string' ? verify : verify.scheme
  switch (scheme) {
    case 'github':
      return nonEmpty(headers[GITHUB_DELIVERY_HEADER])
    case 'stripe':
      // https://docs.stripe.com/webhooks#handle-duplicate-events: the event id (evt_...) is stable across retries.
      return bodyField(body, 'id')
    case 'shopify':
      return nonEmpty(headers[SHOPIFY_WEBHOOK_ID_HEADER])
    case 'slack':
      // Events API only; interactive and slash-command payloads have no id and fall back to the body hash.
      return bodyField(body, 'event_id')
    case 'standard-webhooks':
      return STANDARD_WEBHOOK_ID_HEADERS.map((name) => nonEmpty(headers[name])).find((id) => id !== undefined)
    case 'hmac': {
      const idHeader = typeof verify === 'string' || verify.scheme !== 'hmac' ? undefined : verify.idHeader
      return idHeader === undefined ? undefined : nonEmpty(headers[idHeader.toLowerCase()])
    }
    case 'token':
    case 'none':
      return undefined
  }
}

/** The fallback delivery id: a retry of the same body is recognised as a duplicate. */
export function bodyHashDeliveryId(rawBody: Buffer): string {
  return `sha256:${createHash('sha256').update(rawBody).digest('hex')}`
}

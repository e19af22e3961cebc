import type { VerifyScheme } from '../config/server-config.ts'

/** A reply the provider expects instead of the usual 202. */
export interface HandshakeReply {
  statusCode: number
  body: string
  contentType: string
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The answer to a provider's handshake, or undefined for an ordinary webhook. Call it after the
 * signature check: Slack signs its url_verification request like any other.
 * https://api.slack.com/events/url_verification
 */
export function handshakeReply(scheme: VerifyScheme, body: unknown): HandshakeReply | undefined {
  if (scheme === 'slack' && isRecord(body) && body['type'] === 'url_verification' && typeof body['challenge'] === 'string') {
    return { statusCode: 200, body: JSON.stringify({ challenge: body['challenge'] }), contentType: 'application/json' }
  }
  return undefined
}

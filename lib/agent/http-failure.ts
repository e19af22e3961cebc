import { permanentError, retryableError, type AgentError } from './errors.ts'
import type { HttpResponse } from './http-client.ts'

const SUMMARY_BODY_CHARS = 200

/**
 * Seconds to wait from a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, Math.ceil((date - now) / 1000))
}

/** "HTTP 400: <first 200 characters of the body>", with any known secret blanked out. */
export function summariseResponse(response: HttpResponse, secrets: readonly string[] = []): string {
  let body = response.text.replace(/\s+/g, ' ').trim().slice(0, SUMMARY_BODY_CHARS)
  for (const secret of secrets) if (secret.length >= 4) body = body.split(secret).join('[redacted]')
  return body ? `HTTP ${response.status}: ${body}` : `HTTP ${response.status}`
}

/** 408, 429 and 5xx may succeed later; any other status will not. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500
}

/**
 * The error for a non-2xx answer: retryable (with the server's Retry-After) for 408/429/5xx,
 * permanent otherwise. `what` names the call ("fetch customer 42").
 */
export function httpFailure(
  code: string,
  what: string,
  response: HttpResponse,
  options: { secrets?: readonly string[]; now?: number } = {},
): AgentError {
  const message = `${what}: ${summariseResponse(response, options.secrets)}`
  if (!isRetryableStatus(response.status)) return permanentError(code, message)
  const retryAfterSeconds = parseRetryAfter(response.headers['retry-after'], options.now)
  return retryableError(code, message, { ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }), outage: isOutageStatus(response.status) })
}

/** The server, not the request, is the problem: overloaded, rate limiting, or a gateway without a backend. */
export function isOutageStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504
}

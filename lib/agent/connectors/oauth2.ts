import type { AuthConfig } from '../config.ts'
import { retryableError } from '../errors.ts'
import { httpFailure, isRetryableStatus, summariseResponse } from '../http-failure.ts'
import { safeUrl, type HttpClient } from '../http-client.ts'

type OAuth2Config = Extract<AuthConfig, { type: 'oauth2' }>

/** Refresh this long before the token expires, so a request never starts with a token about to die. */
const EXPIRY_MARGIN_IN_SECONDS = 60
/** Assumed lifetime when the server does not say (`expires_in` is only RECOMMENDED); a 401 refreshes early anyway. */
const DEFAULT_LIFETIME_IN_SECONDS = 3600
/** A rejected client (bad secret) will not fix itself within seconds. */
const REJECTED_RETRY_IN_SECONDS = 60
const TOKEN_TIMEOUT_IN_MS = 10_000

/**
 * OAuth 2.0 client credentials grant (RFC 6749 §4.4, https://datatracker.ietf.org/doc/html/rfc6749#section-4.4).
 * One cached access token per source, shared by concurrent requests (one token call at a time).
 */
export class OAuth2ClientCredentials {
  readonly #config: OAuth2Config
  readonly #http: HttpClient
  readonly #now: () => number
  #cached: { token: string; refreshAt: number } | undefined
  #pending: Promise<string> | undefined

  constructor(config: OAuth2Config, http: HttpClient, now: () => number = Date.now) {
    this.#config = config
    this.#http = http
    this.#now = now
  }

  /** A valid access token: the cached one, or a new one from the token endpoint. */
  async accessToken(): Promise<string> {
    if (this.#cached && this.#now() < this.#cached.refreshAt) return this.#cached.token
    this.#pending ??= this.#requestToken().finally(() => (this.#pending = undefined))
    return this.#pending
  }

  /** `token` was refused (401): forget it unless a newer one already replaced it. */
  invalidate(token: string): void {
    if (this.#cached?.token === token) this.#cached = undefined
  }

  async #requestToken(): Promise<string> {
    const { tokenUrl, clientId, clientSecret, scope, audience, clientAuthentication } = this.#config
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    if (scope) form.set('scope', scope)
    if (audience) form.set('audience', audience)
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
    if (clientAuthentication === 'basic') {
      // RFC 6749 §2.3.1: client id and secret are form-urlencoded before the Basic encoding.
      const user = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`
      headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`
    } else {
      form.set('client_id', clientId)
      form.set('client_secret', clientSecret)
    }
    const requestedAt = this.#now()
    const response = await this.#http.request({ what: 'oauth2 token', url: tokenUrl, method: 'POST', headers, body: form.toString(), timeoutMs: TOKEN_TIMEOUT_IN_MS })
    const what = `oauth2 token request to ${safeUrl(tokenUrl)}`
    if (response.status < 200 || response.status >= 300) {
      const secrets = [clientSecret]
      if (isRetryableStatus(response.status)) throw httpFailure('agent.oauth2_failed', what, response, { secrets, now: this.#now() })
      // A rejected client is a config problem (retried slowly, so fixing the secret recovers the backlog).
      throw retryableError('agent.oauth2_failed', `${what}: ${summariseResponse(response, secrets)}`, { retryAfterSeconds: REJECTED_RETRY_IN_SECONDS })
    }
    let body: { access_token?: unknown; expires_in?: unknown }
    try {
      body = JSON.parse(response.text) as typeof body
    } catch {
      throw retryableError('agent.oauth2_failed', `${what}: the answer is not JSON`)
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') throw retryableError('agent.oauth2_failed', `${what}: the answer has no access_token`)
    const lifetime = Number(body.expires_in ?? DEFAULT_LIFETIME_IN_SECONDS)
    const usable = Number.isFinite(lifetime) && lifetime > 0 ? lifetime - Math.min(EXPIRY_MARGIN_IN_SECONDS, lifetime / 2) : 0
    this.#cached = { token: body.access_token, refreshAt: requestedAt + usable * 1000 }
    return body.access_token
  }
}

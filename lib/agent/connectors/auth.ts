import type { AuthConfig } from '../config.ts'
import type { HttpClient, HttpRequest, HttpResponse } from '../http-client.ts'
import { OAuth2ClientCredentials } from './oauth2.ts'

/** Adds credentials to requests to one SaaS API. */
export interface Authenticator {
  /** Sends `request` with credentials; after a 401 with refreshable credentials, once more with fresh ones. */
  send(request: HttpRequest): Promise<HttpResponse>
  /** Secret values, blanked out of error summaries. */
  readonly secrets: readonly string[]
}

/** The authenticator for an `auth` config block (none: requests go out as they are). */
export function createAuthenticator(auth: AuthConfig | undefined, http: HttpClient, now: () => number = Date.now): Authenticator {
  if (auth?.type === 'oauth2') return oauth2Authenticator(new OAuth2ClientCredentials(auth, http, now), http, [auth.clientSecret])
  const headers = staticHeaders(auth)
  return {
    secrets: secretsOf(auth),
    send: (request) => http.request({ ...request, headers: { ...request.headers, ...headers } }),
  }
}

function staticHeaders(auth: Exclude<AuthConfig, { type: 'oauth2' }> | undefined): Record<string, string> {
  switch (auth?.type) {
    case undefined:
      return {}
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` }
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` }
    case 'header':
      return { [auth.name.toLowerCase()]: auth.value }
  }
}

function secretsOf(auth: Exclude<AuthConfig, { type: 'oauth2' }> | undefined): string[] {
  if (auth?.type === 'bearer') return [auth.token]
  if (auth?.type === 'basic') return [auth.password]
  if (auth?.type === 'header') return [auth.value]
  return []
}

function oauth2Authenticator(credentials: OAuth2ClientCredentials, http: HttpClient, secrets: string[]): Authenticator {
  const sendWith = async (request: HttpRequest) => {
    const token = await credentials.accessToken()
    const response = await http.request({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } })
    return { token, response }
  }
  return {
    secrets,
    async send(request) {
      const first = await sendWith(request)
      if (first.response.status !== 401) return first.response
      // The token may have been revoked or expired early: one retry with a fresh one.
      credentials.invalidate(first.token)
      return (await sendWith(request)).response
    },
  }
}

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createAuthenticator } from '../../../lib/agent/connectors/auth.ts'
import { createHttpConnector } from '../../../lib/agent/connectors/http-connector.ts'
import { HttpClient } from '../../../lib/agent/http-client.ts'
import { makeLease, startTestServer, type SeenRequest } from './helpers.ts'

let issued = 0
let revoked = new Set<string>()
let tokenServer: Awaited<ReturnType<typeof startTestServer>>
let api: Awaited<ReturnType<typeof startTestServer>>
const http = new HttpClient()

beforeAll(async () => {
  tokenServer = await startTestServer((request) => {
    const form = new URLSearchParams(request.body)
    if (request.headers.authorization !== `Basic ${Buffer.from('client-1:s3cret').toString('base64')}` || form.get('grant_type') !== 'client_credentials') {
      return { status: 401, body: { error: 'invalid_client' } }
    }
    issued += 1
    return { body: { access_token: `token-${issued}`, token_type: 'Bearer', expires_in: 3600 } }
  })
  api = await startTestServer((request) => {
    const token = String(request.headers.authorization).replace('Bearer ', '')
    return revoked.has(token) || !token.startsWith('token-') ? { status: 401, body: { message: 'bad token' } } : { body: { id: '1', token } }
  })
})
afterEach(() => {
  issued = 0
  revoked = new Set()
  tokenServer.requests.length = 0
})
afterAll(async () => {
  await Promise.all([tokenServer.close(), api.close(), http.close()])
})

function connector(now: () => number, clientSecret = 's3cret') {
  const auth = createAuthenticator({ type: 'oauth2', tokenUrl: `${tokenServer.url}/oauth/token`, clientId: 'client-1', clientSecret, scope: 'read:customers', clientAuthentication: 'basic' }, http, now)
  return createHttpConnector({ type: 'http', url: `${api.url}/customers/{id}`, method: 'GET', headers: {}, timeoutMs: 2_000 }, { auth, key: 'sources.crm.fetch' })
}

const tokenUsed = (result: unknown) => ((result as { record: { token: string } }).record.token)

describe('oauth2 client credentials', () => {
  it('asks for a token with the client credentials and scope', async () => {
    await connector(Date.now).fetch(makeLease())
    const form = new URLSearchParams((tokenServer.requests[0] as SeenRequest).body)
    expect(Object.fromEntries(form)).toEqual({ grant_type: 'client_credentials', scope: 'read:customers' })
    expect(tokenServer.requests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded')
  })

  it('caches the token across requests, including concurrent ones', async () => {
    const fetch = connector(Date.now)
    const results = await Promise.all([1, 2, 3].map((n) => fetch.fetch(makeLease({ recordId: String(n) }))))
    results.push(await fetch.fetch(makeLease()))
    expect(results.map(tokenUsed)).toEqual(['token-1', 'token-1', 'token-1', 'token-1'])
    expect(tokenServer.requests).toHaveLength(1)
  })

  it('fetches a new token shortly before the old one expires', async () => {
    let now = 1_000_000
    const fetch = connector(() => now)
    expect(tokenUsed(await fetch.fetch(makeLease()))).toBe('token-1')
    now += 3_500 * 1000 // 100 s before expiry: outside the 60 s margin, the cached token still serves
    expect(tokenUsed(await fetch.fetch(makeLease()))).toBe('token-1')
    now += 60 * 1000 // 40 s before expiry: refresh
    expect(tokenUsed(await fetch.fetch(makeLease()))).toBe('token-2')
  })

  it('refreshes the token once after a 401 and repeats the request', async () => {
    const fetch = connector(Date.now)
    expect(tokenUsed(await fetch.fetch(makeLease()))).toBe('token-1')
    revoked.add('token-1')
    expect(tokenUsed(await fetch.fetch(makeLease()))).toBe('token-2')
    expect(tokenServer.requests).toHaveLength(2)
  })

  it('does not loop when the API refuses fresh tokens too', async () => {
    revoked = { has: () => true } as unknown as Set<string>
    const error = await connector(Date.now).fetch(makeLease()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ retryable: false, message: expect.stringContaining('HTTP 401') })
    expect(tokenServer.requests).toHaveLength(2)
  })

  it('retries slowly when the token endpoint rejects the client, without leaking the secret', async () => {
    const error = await connector(Date.now, 'wrong-secret').fetch(makeLease()).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 'agent.oauth2_failed', retryable: true, retryAfterSeconds: 60 })
    expect((error as Error).message).toContain('HTTP 401')
    expect((error as Error).message).not.toContain('wrong-secret')
  })
})

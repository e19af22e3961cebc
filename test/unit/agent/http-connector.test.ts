import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { FetchConfig } from '../../../lib/agent/config.ts'
import { createAuthenticator } from '../../../lib/agent/connectors/auth.ts'
import { createHttpConnector } from '../../../lib/agent/connectors/http-connector.ts'
import type { AgentError } from '../../../lib/agent/errors.ts'
import { HttpClient } from '../../../lib/agent/http-client.ts'
import { makeLease, startTestServer, type Reply } from './helpers.ts'

type HttpFetch = Extract<FetchConfig, { type: 'http' }>

let reply: Reply = {}
let saas: Awaited<ReturnType<typeof startTestServer>>
const http = new HttpClient()

beforeAll(async () => {
  saas = await startTestServer(() => reply)
})
afterEach(() => {
  saas.requests.length = 0
})
afterAll(async () => {
  await saas.close()
  await http.close()
})

function connector(overrides: Partial<HttpFetch> = {}, now?: () => number) {
  const config: HttpFetch = { type: 'http', url: `${saas.url}/v1/customers/{id}`, method: 'GET', headers: {}, timeoutMs: 2_000, ...overrides }
  return createHttpConnector(config, { auth: createAuthenticator(config.auth, http), key: 'sources.crm.fetch', ...(now ? { now } : {}) })
}

async function failure(promise: Promise<unknown>): Promise<AgentError> {
  return promise.then(
    () => {
      throw new Error('expected the fetch to fail')
    },
    (error: AgentError) => error,
  )
}

describe('http connector', () => {
  it('fetches the record by id with the configured auth and templated URL and headers', async () => {
    reply = { body: { id: 'cus 1', name: 'Ada' } }
    const fetch = connector({ auth: { type: 'bearer', token: 'sk_test_123' }, headers: { 'X-Event': '{event}' } })
    const result = await fetch.fetch(makeLease({ recordId: 'cus 1', event: 'customer.updated' }))
    expect(result).toEqual({ op: 'upsert', record: { id: 'cus 1', name: 'Ada' } })
    expect(saas.requests[0]).toMatchObject({ method: 'GET', url: '/v1/customers/cus%201' })
    expect(saas.requests[0]!.headers).toMatchObject({ authorization: 'Bearer sk_test_123', 'x-event': 'customer.updated' })
  })

  it('picks the record out of the response with select', async () => {
    reply = { body: { data: { id: '42', total: 10 }, meta: {} } }
    expect(await connector({ select: 'data' }).fetch(makeLease())).toEqual({ op: 'upsert', record: { id: '42', total: 10 } })
  })

  it('treats 404 as a deleted record', async () => {
    reply = { status: 404, body: { error: 'not found' } }
    expect(await connector().fetch(makeLease())).toEqual({ op: 'delete' })
  })

  it('treats 410 as a deleted record', async () => {
    reply = { status: 410 }
    expect(await connector().fetch(makeLease())).toEqual({ op: 'delete' })
  })

  it('retries a 429 after the Retry-After seconds', async () => {
    reply = { status: 429, headers: { 'retry-after': '17' }, body: { error: 'slow down' } }
    const error = await failure(connector().fetch(makeLease()))
    expect(error).toMatchObject({ retryable: true, retryAfterSeconds: 17, code: 'agent.fetch_failed' })
  })

  it('reads a Retry-After given as an HTTP date', async () => {
    const now = Date.parse('2030-01-01T00:00:00Z')
    reply = { status: 503, headers: { 'retry-after': 'Tue, 01 Jan 2030 00:02:00 GMT' } }
    const error = await failure(connector({}, () => now).fetch(makeLease()))
    expect(error).toMatchObject({ retryable: true, retryAfterSeconds: 120 })
  })

  it('retries a 500 without a delay of its own (the cloud backs off)', async () => {
    reply = { status: 500, body: 'oops' }
    const error = await failure(connector().fetch(makeLease()))
    expect(error.retryable).toBe(true)
    expect(error.retryAfterSeconds).toBeUndefined()
    expect(error.message).toContain('HTTP 500: oops')
  })

  it('retries when the API cannot be reached', async () => {
    const closed = await startTestServer(() => ({}))
    await closed.close()
    const error = await failure(connector({ url: `${closed.url}/x/{id}` }).fetch(makeLease()))
    expect(error).toMatchObject({ retryable: true, code: 'agent.network_error' })
    expect(error.message).toContain('ECONNREFUSED')
  })

  it('fails other 4xx for good, with the status and the start of the body but no secret', async () => {
    reply = { status: 403, body: `{"error":"key sk_test_123 lacks scope","padding":"${'x'.repeat(500)}"}` }
    const error = await failure(connector({ auth: { type: 'bearer', token: 'sk_test_123' } }).fetch(makeLease({ recordId: '7' })))
    expect(error.retryable).toBe(false)
    expect(error.message).toMatch(/^fetch crm 7: HTTP 403: \{"error":"key \[redacted\] lacks scope"/)
    expect(error.message).not.toContain('sk_test_123')
    expect(error.message.length).toBeLessThan(260)
  })

  it('fails for good when select finds nothing (rather than deleting)', async () => {
    reply = { body: { data: null } }
    const error = await failure(connector({ select: 'record' }).fetch(makeLease()))
    expect(error).toMatchObject({ retryable: false })
    expect(error.message).toContain('sources.crm.fetch.select found nothing')
  })

  it('posts a JSON-escaped body template (GraphQL)', async () => {
    reply = { body: { data: { node: { id: 'a"b' } } } }
    const fetch = connector({ method: 'POST', body: '{"query":"q","variables":{"id":"{id}"}}', select: 'data.node' })
    expect(await fetch.fetch(makeLease({ recordId: 'a"b' }))).toEqual({ op: 'upsert', record: { id: 'a"b' } })
    expect(JSON.parse(saas.requests[0]!.body)).toEqual({ query: 'q', variables: { id: 'a"b' } })
  })

  it('gives up on a slow API after timeoutMs and retries', async () => {
    reply = { delayMs: 1_000, body: {} }
    const error = await failure(connector({ timeoutMs: 100 }).fetch(makeLease()))
    expect(error).toMatchObject({ retryable: true, code: 'agent.timeout' })
  })
})

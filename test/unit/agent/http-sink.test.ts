import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { makeLease, startTestServer, type Reply } from './helpers.ts'
import { buildPipeline, type TestPipeline } from './pipeline.ts'

let saasReply: Reply = {}
let sinkReplies: Reply[] = []
let saas: Awaited<ReturnType<typeof startTestServer>>
let sink: Awaited<ReturnType<typeof startTestServer>>
const pipelines: TestPipeline[] = []

beforeAll(async () => {
  saas = await startTestServer(() => saasReply)
  sink = await startTestServer(() => sinkReplies.shift() ?? { status: 200, body: { ok: true } })
})
afterEach(async () => {
  sink.requests.length = 0
  sinkReplies = []
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close()))
})
afterAll(async () => {
  await Promise.all([saas.close(), sink.close()])
})

async function pipeline(deliver: string, extra = ''): Promise<TestPipeline> {
  const built = await buildPipeline(`  crm:
    fetch: { type: http, url: "${saas.url}/records/{id}", version: updated_at }
    deliver: ${deliver}
${extra}`)
  pipelines.push(built)
  return built
}

describe('http sink', () => {
  it('posts the record with an Idempotency-Key and Hookferry-* headers', async () => {
    saasReply = { body: { id: '42', name: 'Ada', updated_at: '2030-01-01T00:00:00Z' } }
    const { run } = await pipeline(`{ type: http, url: "${sink.url}/customers/{id}", headers: { X-Tenant: acme } }`)
    const result = await run(makeLease({ recordId: '42', recordType: 'customer', event: 'customer.updated' }))
    expect(result.outcome).toEqual({ outcome: 'done' })
    const [request] = sink.requests
    expect(request).toMatchObject({ method: 'POST', url: '/customers/42' })
    expect(JSON.parse(request!.body)).toEqual({ id: '42', name: 'Ada', updated_at: '2030-01-01T00:00:00Z' })
    expect(request!.headers['idempotency-key']).toMatch(/^[0-9a-f]{64}$/)
    expect(request!.headers).toMatchObject({
      'hookferry-operation': 'upsert',
      'hookferry-source': 'crm',
      'hookferry-record-id': '42',
      'hookferry-record-type': 'customer',
      'hookferry-event': 'customer.updated',
      'hookferry-version': '2030-01-01T00%3A00%3A00Z',
      'x-tenant': 'acme',
    })
  })

  it('sends the same Idempotency-Key when a request is redelivered', async () => {
    saasReply = { body: { id: '42', updated_at: 'v1' } }
    sinkReplies = [{ status: 503, headers: { 'retry-after': '3' } }]
    const { run } = await pipeline(`{ type: http, url: "${sink.url}/in" }`)
    const lease = makeLease()
    // A 503 is an outage of the endpoint: handed back to wait, without spending the attempt.
    expect((await run(lease)).outcome).toMatchObject({ outcome: 'release', delaySeconds: 3 })
    expect((await run({ ...lease, lease: 'lease-again' })).outcome).toEqual({ outcome: 'done' })
    const keys = sink.requests.map((request) => request.headers['idempotency-key'])
    expect(keys).toHaveLength(2)
    expect(keys[0]).toBe(keys[1])
  })

  it('sends a different Idempotency-Key for a new version of the record', async () => {
    const { run } = await pipeline(`{ type: http, url: "${sink.url}/in" }`)
    saasReply = { body: { id: '42', updated_at: 'v1' } }
    await run(makeLease())
    saasReply = { body: { id: '42', updated_at: 'v2' } }
    await run(makeLease())
    const [first, second] = sink.requests.map((request) => request.headers['idempotency-key'])
    expect(first).not.toBe(second)
  })

  it('delivers a deleted record as DELETE without a body', async () => {
    saasReply = { status: 404 }
    const { run } = await pipeline(`{ type: http, url: "${sink.url}/customers/{id}" }`)
    expect((await run(makeLease({ recordId: '9' }))).outcome).toEqual({ outcome: 'done', note: 'deleted' })
    expect(sink.requests[0]).toMatchObject({ method: 'DELETE', url: '/customers/9', body: '' })
    expect(sink.requests[0]!.headers['hookferry-operation']).toBe('delete')
  })

  it('wraps the record in an envelope when asked', async () => {
    saasReply = { status: 410 }
    const { run } = await pipeline(`{ type: http, url: "${sink.url}/events", method: PUT, format: envelope }`)
    const lease = makeLease({ recordId: '9', event: 'customer.deleted' })
    await run(lease)
    expect(sink.requests[0]!.method).toBe('PUT')
    expect(JSON.parse(sink.requests[0]!.body)).toEqual({ op: 'delete', source: 'crm', recordId: '9', event: 'customer.deleted', requestId: lease.requestId })
  })

  it.each([408, 500])('retries when the endpoint answers %i, honouring Retry-After', async (status) => {
    saasReply = { body: { id: '1' } }
    sinkReplies = [{ status, headers: { 'retry-after': '11' }, body: 'busy' }]
    const { run } = await pipeline(`{ type: http, url: "${sink.url}/in" }`)
    expect((await run(makeLease())).outcome).toMatchObject({ outcome: 'retry', delaySeconds: 11, error: { code: 'agent.deliver_failed' } })
  })

  it.each([429, 502, 503, 504])('hands the request back without spending an attempt when the endpoint answers %i (an outage), honouring Retry-After', async (status) => {
    saasReply = { body: { id: '1' } }
    sinkReplies = [{ status, headers: { 'retry-after': '11' }, body: 'busy' }]
    const { run } = await pipeline(`{ type: http, url: "${sink.url}/in" }`)
    expect((await run(makeLease())).outcome).toMatchObject({ outcome: 'release', delaySeconds: 11, error: { code: 'agent.deliver_failed' } })
  })

  it('fails for good when the endpoint answers another 4xx', async () => {
    saasReply = { body: { id: '1' } }
    sinkReplies = [{ status: 422, body: { error: 'name is required' } }]
    const { run } = await pipeline(`{ type: http, url: "${sink.url}/in" }`)
    expect((await run(makeLease({ recordId: '1' }))).outcome).toEqual({
      outcome: 'fail',
      error: { code: 'agent.deliver_failed', message: 'deliver crm 1: HTTP 422: {"error":"name is required"}' },
    })
  })

  it('returns the endpoint answer as the reply of a sync request', async () => {
    saasReply = { body: { id: '1' } }
    sinkReplies = [{ status: 201, headers: { 'x-onprem-id': 'E-1' }, body: { onPremId: 'E-1' } }]
    const { run } = await pipeline(`{ type: http, url: "${sink.url}/in" }`)
    const { outcome } = await run(makeLease({ mode: 'sync' }))
    expect(outcome).toMatchObject({ outcome: 'done', reply: { status: 201, body: '{"onPremId":"E-1"}' } })
    expect(outcome.outcome === 'done' && outcome.reply?.headers).toMatchObject({ 'content-type': 'application/json', 'x-onprem-id': 'E-1' })
  })
})

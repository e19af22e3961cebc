import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { makeLease, startTestServer, type Reply, type SeenRequest } from './helpers.ts'
import { buildPipeline, type TestPipeline } from './pipeline.ts'

/** A tiny SaaS: GET /customers/:id returns the stored record; PATCH /customers/:id/metadata writes into it. */
let customer: Record<string, unknown> = {}
let writeBackReplies: Reply[] = []
let saas: Awaited<ReturnType<typeof startTestServer>>
let erp: Awaited<ReturnType<typeof startTestServer>>
const pipelines: TestPipeline[] = []

beforeAll(async () => {
  saas = await startTestServer((request: SeenRequest) => {
    if (request.headers.authorization !== 'Bearer sk_live') return { status: 401 }
    if (request.method === 'GET') return { body: customer }
    const forced = writeBackReplies.shift()
    if (forced) return forced
    const body = JSON.parse(request.body) as { metadata: Record<string, unknown> }
    customer = { ...customer, metadata: { ...(customer.metadata as object), ...body.metadata }, updated: Number(customer.updated) + 1 }
    return { body: customer }
  })
  erp = await startTestServer((request) => ({ status: 201, body: { erpId: `ERP-${(JSON.parse(request.body) as { id: string }).id}` } }))
})
afterEach(async () => {
  saas.requests.length = 0
  erp.requests.length = 0
  writeBackReplies = []
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close()))
})
afterAll(async () => {
  await Promise.all([saas.close(), erp.close()])
})

async function pipeline(body = '{"externalId": record.id, "metadata": {"erp_id": response.body.erpId, "synced_by": request.source}}'): Promise<TestPipeline> {
  const built = await buildPipeline(`  crm:
    fetch: { type: http, url: "${saas.url}/customers/{id}", auth: { type: bearer, token: sk_live } }
    deliver: { type: http, url: "${erp.url}/customers" }
    writeBack:
      url: "${saas.url}/customers/{externalId}/metadata"
      method: PATCH
      headers: { X-Request-Id: "{requestId}" }
      body: '${body}'
    loopPrevention: { ignoreFields: [updated, metadata] }`)
  pipelines.push(built)
  return built
}

const writeBacks = () => saas.requests.filter((request) => request.method === 'PATCH')

describe('write-back', () => {
  it('sends the templated body to the templated URL with the fetch auth', async () => {
    customer = { id: 'cus_1', name: 'Ada', updated: 1 }
    const { run } = await pipeline()
    const lease = makeLease({ recordId: 'cus_1' })
    expect((await run(lease)).outcome).toEqual({ outcome: 'done' })
    const [writeBack] = writeBacks()
    expect(writeBack).toMatchObject({ url: '/customers/cus_1/metadata' })
    expect(writeBack!.headers).toMatchObject({ authorization: 'Bearer sk_live', 'x-request-id': lease.requestId, 'content-type': 'application/json' })
    expect(JSON.parse(writeBack!.body)).toEqual({ externalId: 'cus_1', metadata: { erp_id: 'ERP-cus_1', synced_by: 'crm' } })
  })

  it('does not deliver again when the write-back comes back as a webhook (no sync loop)', async () => {
    customer = { id: 'cus_2', name: 'Grace', updated: 1 }
    const { run } = await pipeline()
    await run(makeLease({ recordId: 'cus_2' }))
    // The SaaS now fires "customer.updated" for our own write-back: metadata and updated changed.
    expect((await run(makeLease({ recordId: 'cus_2', event: 'customer.updated' }))).outcome).toEqual({ outcome: 'done', note: 'unchanged' })
    expect(erp.requests).toHaveLength(1)
    expect(writeBacks()).toHaveLength(1)
    // A real change is delivered (and written back) again.
    customer = { ...customer, name: 'Grace H.' }
    expect((await run(makeLease({ recordId: 'cus_2' }))).outcome).toEqual({ outcome: 'done' })
    expect(erp.requests).toHaveLength(2)
  })

  it('retries after a failed write-back, then delivers again with the same key and writes back', async () => {
    customer = { id: 'cus_3', name: 'Alan', updated: 1 }
    writeBackReplies = [{ status: 500, body: 'down' }]
    const { run } = await pipeline()
    const lease = makeLease({ recordId: 'cus_3' })
    expect((await run(lease)).outcome).toMatchObject({ outcome: 'retry', error: { code: 'agent.write_back_failed' } })
    expect((await run({ ...lease, lease: 'second', attempt: 2 })).outcome).toEqual({ outcome: 'done' })
    expect(erp.requests).toHaveLength(2)
    expect(erp.requests[0]!.headers['idempotency-key']).toBe(erp.requests[1]!.headers['idempotency-key'])
    expect(writeBacks()).toHaveLength(2)
  })

  it('retries a write-back refused with 4xx too, honouring Retry-After', async () => {
    customer = { id: 'cus_4', updated: 1 }
    writeBackReplies = [{ status: 409, headers: { 'retry-after': '8' }, body: { error: 'conflict' } }]
    const { run } = await pipeline()
    expect((await run(makeLease({ recordId: 'cus_4' }))).outcome).toMatchObject({ outcome: 'retry', delaySeconds: 8 })
  })

  it('skips the write-back when the body expression gives nothing', async () => {
    customer = { id: 'cus_5', updated: 1 }
    const { run } = await pipeline('response.status = 200 ? {"externalId": record.id}')
    expect((await run(makeLease({ recordId: 'cus_5' }))).outcome).toEqual({ outcome: 'done' })
    expect(writeBacks()).toHaveLength(0)
  })
})

describe('process request', () => {
  it('retries in 300 s a request of a source the agent does not know, and says so in the log', async () => {
    const built = await buildPipeline(`  crm:
    fetch: { type: payload }
    deliver: { type: file, path: out.ndjson }`)
    pipelines.push(built)
    const lease = makeLease({ source: 'billing' })
    expect((await built.run(lease)).outcome).toEqual({
      outcome: 'retry',
      delaySeconds: 300,
      error: { code: 'agent.unknown_source', message: 'the agent has no config for source "billing"' },
    })
    expect(built.log.lines).toContainEqual(expect.objectContaining({ level: 50, source: 'billing', requestId: lease.requestId, msg: expect.stringContaining('no config for source "billing"') }))
  })

  it('fails a payload source whose request carries no payload, saying what to change', async () => {
    const built = await buildPipeline(`  crm:
    fetch: { type: payload }
    deliver: { type: file, path: out.ndjson }`)
    pipelines.push(built)
    expect((await built.run(makeLease())).outcome).toMatchObject({ outcome: 'fail', error: { code: 'agent.no_payload', message: expect.stringContaining('forwardPayload: true') } })
  })
})

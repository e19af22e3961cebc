import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { makeLease, startTestServer, type Reply, type SeenRequest } from './helpers.ts'
import { buildPipeline, type TestPipeline } from './pipeline.ts'

/** What the pipeline makes of the fetched record's version and of the sink's answer (request/reply sources). */
let record: Record<string, unknown> = {}
let sinkReply: Reply = { status: 200 }
let saas: Awaited<ReturnType<typeof startTestServer>>
let sink: Awaited<ReturnType<typeof startTestServer>>
const pipelines: TestPipeline[] = []

beforeAll(async () => {
  saas = await startTestServer(() => ({ body: record }))
  sink = await startTestServer(() => sinkReply)
})
afterEach(async () => {
  sink.requests.length = 0
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close()))
})
afterAll(async () => {
  await Promise.all([saas.close(), sink.close()])
})

async function pipeline(version = 'version'): Promise<TestPipeline> {
  const built = await buildPipeline(`  crm:
    fetch: { type: http, url: "${saas.url}/customers/{id}", version: '${version}' }
    deliver: { type: http, url: "${sink.url}/customers/{id}", method: PUT }
    loopPrevention: { enabled: false }`)
  pipelines.push(built)
  return built
}
const delivered = (): SeenRequest => sink.requests.at(-1)!

describe('the version of a delivery', () => {
  it('is the text of a string, the JSON of anything else, and absent when the expression gives nothing', async () => {
    const { run } = await pipeline()
    const keyOf = async (version: unknown) => {
      record = { id: '42', version }
      await run(makeLease())
      return { header: delivered().headers['hookferry-version'], key: delivered().headers['idempotency-key'] }
    }
    const text = await keyOf('v7')
    const number = await keyOf(7)
    const object = await keyOf({ rev: 2 })
    const nothing = await keyOf(null)
    expect([text.header, number.header, object.header, nothing.header]).toEqual(['v7', '7', encodeURIComponent('{"rev":2}'), undefined])
    expect(new Set([text.key, number.key, object.key, nothing.key]).size).toBe(4)
    // The same version gives the same key on a redelivery; without one the request id decides.
    expect((await keyOf('v7')).key).toBe(text.key)
    expect((await keyOf(null)).key).not.toBe(nothing.key)
  })
})

describe('the reply of a request/reply source', () => {
  const reply = async (answer: Reply) => {
    sinkReply = answer
    record = { id: '42', version: 1 }
    const { run } = await pipeline()
    return (await run(makeLease({ mode: 'sync' }))).outcome
  }

  it('is the sink\'s status, text body and string headers, lower-cased', async () => {
    const outcome = await reply({ status: 201, headers: { 'X-ERP-Id': 'E-1', 'content-type': 'text/plain' }, body: 'created' })
    expect(outcome).toMatchObject({ outcome: 'done', reply: { status: 201, body: 'created', headers: { 'x-erp-id': 'E-1', 'content-type': 'text/plain' } } })
  })

  it('is JSON with a JSON content type when the sink answered JSON', async () => {
    const outcome = await reply({ status: 200, body: { erpId: 'E-2' } })
    expect(outcome).toMatchObject({ reply: { status: 200, body: '{"erpId":"E-2"}', headers: { 'content-type': 'application/json' } } })
  })

  it('is cut at 256 KiB', async () => {
    const outcome = await reply({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(256 * 1024 + 10) })
    expect(outcome.outcome === 'done' && outcome.reply?.body.length).toBe(256 * 1024)
    const exact = await reply({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'y'.repeat(256 * 1024) })
    expect(exact.outcome === 'done' && exact.reply?.body.length).toBe(256 * 1024)
  })

  it('is not made for an asynchronous source', async () => {
    sinkReply = { status: 200, body: { erpId: 'E-3' } }
    record = { id: '42', version: 1 }
    const { run } = await pipeline()
    expect((await run(makeLease({ mode: 'async' }))).outcome).toEqual({ outcome: 'done' })
  })
})

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AgentError } from '../../../lib/agent/errors.ts'
import { outcomeOf } from '../../../lib/agent/process-request.ts'
import { makeLease, tempDir } from './helpers.ts'
import { buildPipeline, type TestPipeline } from './pipeline.ts'

/** The ack a failure becomes, and the reply a module sink's answer becomes (request/reply sources). */
const pipelines: TestPipeline[] = []
const dirs: ReturnType<typeof tempDir>[] = []
afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close()))
  for (const dir of dirs.splice(0)) dir.remove()
})

describe('outcomeOf', () => {
  it('fails for good what retrying cannot help, and cuts long messages at 1000 characters', () => {
    const long = new AgentError('agent.sink_rejected', 'x'.repeat(1_200), { retryable: false })
    expect(outcomeOf(long)).toEqual({ outcome: 'fail', error: { code: 'agent.sink_rejected', message: 'x'.repeat(1_000) } })
  })

  it('retries with the far side\'s Retry-After when it gave one, else by backoff (no delay named)', () => {
    expect(outcomeOf(new AgentError('agent.fetch_failed', 'HTTP 500', { retryable: true }))).toEqual({ outcome: 'retry', error: { code: 'agent.fetch_failed', message: 'HTTP 500' } })
    expect(outcomeOf(new AgentError('agent.fetch_failed', 'HTTP 429', { retryable: true, retryAfterSeconds: 12 }))).toEqual({ outcome: 'retry', error: { code: 'agent.fetch_failed', message: 'HTTP 429' }, delaySeconds: 12 })
  })
})

/** A pipeline whose module sink answers `answer` (JSON) and whose transform shows the request context. */
async function withSink(answer: string): Promise<TestPipeline> {
  const dir = tempDir()
  dirs.push(dir)
  writeFileSync(join(dir.path, 'sink.mjs'), `export async function deliver(delivery) { globalThis.__contextSeen = delivery.record; return ${answer} }\n`)
  const pipeline = await buildPipeline(`  crm:
    fetch: { type: payload }
    transform: { jsonata: '{"event": request.event, "recordType": request.recordType, "id": record.id}' }
    deliver: { type: module, module: ${join(dir.path, 'sink.mjs')}, export: deliver }
    loopPrevention: { enabled: false }`)
  pipelines.push(pipeline)
  return pipeline
}
const replyTo = async (answer: string) => {
  const { run } = await withSink(answer)
  const { outcome } = await run(makeLease({ mode: 'sync', payload: { id: 'p1' } }))
  return outcome.outcome === 'done' ? outcome.reply : undefined
}

describe('the reply of a request/reply source with a module sink', () => {
  it('keeps statuses from 100 to 599 and answers 502 for anything else', async () => {
    expect((await replyTo('{ status: 100 }'))?.status).toBe(100)
    expect((await replyTo('{ status: 599 }'))?.status).toBe(599)
    expect((await replyTo('{ status: 99 }'))?.status).toBe(502)
    expect((await replyTo('{ status: 600 }'))?.status).toBe(502)
  })

  it('has an empty body when the sink gave none, and keeps only headers that are text', async () => {
    expect(await replyTo('{ status: 204, headers: { "X-Erp": "E-1", "Set-Cookie": ["a=1", "b=2"] } }')).toEqual({ status: 204, headers: { 'x-erp': 'E-1' }, body: '' })
  })
})

describe('the request context a transform sees', () => {
  it('carries the event and record type when the lease has them, and not otherwise', async () => {
    const { run } = await withSink('{ status: 200 }')
    await run(makeLease({ payload: { id: 'p1' }, event: 'customer.updated', recordType: 'customer' }))
    expect((globalThis as Record<string, unknown>).__contextSeen).toEqual({ event: 'customer.updated', recordType: 'customer', id: 'p1' })
    await run(makeLease({ payload: { id: 'p2' } }))
    expect((globalThis as Record<string, unknown>).__contextSeen).toEqual({ id: 'p2' })
  })
})

describe('the request pipeline at its edges', () => {
  it('cuts a reply body at 256 KiB and keeps one of exactly that length', async () => {
    const limit = 256 * 1024
    expect((await replyTo(`{ status: 200, body: "a".repeat(${limit}) }`))?.body).toHaveLength(limit)
    const long = await replyTo(`{ status: 200, body: "b".repeat(${limit + 10}) }`)
    expect(long?.body).toBe('b'.repeat(limit))
  })

  it('shows a transform the record type and event only when the request has them', async () => {
    const dir = tempDir()
    dirs.push(dir)
    writeFileSync(join(dir.path, 'transform.mjs'), 'export default (record, context) => ({ ...record, contextKeys: Object.keys(context).sort() })\n')
    writeFileSync(join(dir.path, 'sink.mjs'), 'export async function deliver(delivery) { globalThis.__keysSeen = delivery.record.contextKeys }\n')
    const pipeline = await buildPipeline(`  crm:
    fetch: { type: payload }
    transform: { module: ${join(dir.path, 'transform.mjs')} }
    deliver: { type: module, module: ${join(dir.path, 'sink.mjs')}, export: deliver }
    loopPrevention: { enabled: false }`)
    pipelines.push(pipeline)
    const seen = () => (globalThis as { __keysSeen?: string[] }).__keysSeen
    await pipeline.run(makeLease({ payload: { id: 'p1' } }))
    expect(seen()).toEqual(['attempt', 'recordId', 'requestId', 'source'])
    await pipeline.run(makeLease({ payload: { id: 'p1' }, recordType: 'customer', event: 'customer.updated' }))
    expect(seen()).toEqual(['attempt', 'event', 'recordId', 'recordType', 'requestId', 'source'])
  })

  it('retries an unexpected failure of its own as agent.internal, naming the error', async () => {
    const dir = tempDir()
    dirs.push(dir)
    writeFileSync(join(dir.path, 'sink.mjs'), 'export async function deliver() {}\n')
    const pipeline = await buildPipeline(`  crm:
    fetch: { type: payload }
    deliver: { type: module, module: ${join(dir.path, 'sink.mjs')}, export: deliver }`)
    pipelines.push(pipeline)
    // The loop guard's database is gone: a plain Error, not an AgentError.
    pipeline.loopGuard.close()
    const { outcome } = await pipeline.run(makeLease({ payload: { id: 'p1' } }))
    expect(outcome).toMatchObject({ outcome: 'retry', error: { code: 'agent.internal' } })
    expect(outcome.outcome === 'retry' && outcome.error.message).toMatch(/^unexpected error: statement has been finalized/)
  })
})

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../lib/errors.ts'
import { makeLease, tempDir } from './helpers.ts'
import { buildPipeline, type TestPipeline } from './pipeline.ts'

interface SinkCall {
  delivery: Record<string, unknown>
}
const calls = (): SinkCall[] => ((globalThis as Record<string, unknown>).__hookferrySinkCalls ??= []) as SinkCall[]

const pipelines: TestPipeline[] = []
const dirs: ReturnType<typeof tempDir>[] = []
afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close()))
  for (const dir of dirs.splice(0)) dir.remove()
  calls().length = 0
})

/** Writes user modules into a temp folder and builds a pipeline whose config refers to them. */
async function withModules(files: Record<string, string>, sourceYaml: (dir: string) => string): Promise<TestPipeline> {
  const dir = tempDir()
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir.path, name), text)
  const pipeline = await buildPipeline(sourceYaml(dir.path))
  pipelines.push(pipeline)
  return pipeline
}

const recordingSink = `
export async function deliver(delivery, context) {
  globalThis.__hookferrySinkCalls ??= []
  globalThis.__hookferrySinkCalls.push({ delivery })
  if (delivery.record?.fail === 'permanent') throw Object.assign(new Error('rejected by ERP'), { retryable: false })
  if (delivery.record?.fail === 'busy') throw Object.assign(new Error('ERP busy'), { retryAfterSeconds: 30 })
  return { status: 201, headers: { 'x-erp': 'yes' }, body: { erpId: 'E-' + delivery.recordId } }
}
`

describe('module sink', () => {
  it('calls the exported function with the delivery and uses its answer as the reply', async () => {
    const { run } = await withModules({ 'sink.mjs': recordingSink }, (dir) => `  crm:
    fetch: { type: payload }
    deliver: { type: module, module: ${join(dir, 'sink.mjs')}, export: deliver }`)
    const { outcome } = await run(makeLease({ recordId: '5', payload: { name: 'Ada' }, mode: 'sync' }))
    expect(outcome).toEqual({ outcome: 'done', reply: { status: 201, headers: { 'x-erp': 'yes', 'content-type': 'application/json' }, body: '{"erpId":"E-5"}' } })
    expect(calls()[0]!.delivery).toMatchObject({ op: 'upsert', source: 'crm', recordId: '5', record: { name: 'Ada' } })
  })

  it('retries when the function throws, with its retryAfterSeconds', async () => {
    const { run } = await withModules({ 'sink.mjs': recordingSink }, (dir) => `  crm:
    fetch: { type: payload }
    deliver: { type: module, module: ${join(dir, 'sink.mjs')}, export: deliver }`)
    expect((await run(makeLease({ payload: { fail: 'busy' } }))).outcome).toMatchObject({ outcome: 'retry', delaySeconds: 30, error: { message: expect.stringContaining('ERP busy') } })
  })

  it('fails for good when the thrown error says retryable: false', async () => {
    const { run } = await withModules({ 'sink.mjs': recordingSink }, (dir) => `  crm:
    fetch: { type: payload }
    deliver: { type: module, module: ${join(dir, 'sink.mjs')}, export: deliver }`)
    expect((await run(makeLease({ payload: { fail: 'permanent' } }))).outcome).toMatchObject({ outcome: 'fail', error: { message: 'sources.crm.deliver: sink function threw: rejected by ERP' } })
  })

  it('refuses to start when the export is missing', async () => {
    await expect(
      withModules({ 'sink.mjs': recordingSink }, (dir) => `  crm:
    fetch: { type: payload }
    deliver: { type: module, module: ${join(dir, 'sink.mjs')}, export: nope }`),
    ).rejects.toThrow(new ConfigError(`sources.crm.deliver.module: ${join(dirs[0]!.path, 'sink.mjs')} has no function export "nope" (found nothing)`))
  })
})

describe('transform', () => {
  it('runs a TypeScript module transform with the record and the request context', async () => {
    const transform = `
interface Customer { id: string; first: string; last: string }
export default async function (record: Customer, context: { requestId: string; event?: string }) {
  return { externalId: record.id, fullName: record.first + ' ' + record.last, event: context.event }
}
`
    const { run } = await withModules({ 'sink.mjs': recordingSink, 'transform.ts': transform }, (dir) => `  crm:
    fetch: { type: payload }
    transform: { module: ${join(dir, 'transform.ts')} }
    deliver: { type: module, module: ${join(dir, 'sink.mjs')}, export: deliver }`)
    await run(makeLease({ payload: { id: 'c1', first: 'Ada', last: 'Lovelace' }, event: 'customer.created' }))
    expect(calls()[0]!.delivery.record).toEqual({ externalId: 'c1', fullName: 'Ada Lovelace', event: 'customer.created' })
  })

  it('runs a JSONata transform over {record, request}', async () => {
    const { run } = await withModules({ 'sink.mjs': recordingSink }, (dir) => `  crm:
    fetch: { type: payload }
    transform: { jsonata: '{"id": record.id, "total": $sum(record.lines.amount), "requestId": request.requestId}' }
    deliver: { type: module, module: ${join(dir, 'sink.mjs')}, export: deliver }`)
    const lease = makeLease({ payload: { id: 'o1', lines: [{ amount: 2 }, { amount: 3 }] } })
    await run(lease)
    expect(calls()[0]!.delivery.record).toEqual({ id: 'o1', total: 5, requestId: lease.requestId })
  })

  it('skips the record (done, filtered) when the transform gives nothing', async () => {
    const { run } = await withModules({ 'sink.mjs': recordingSink }, (dir) => `  crm:
    fetch: { type: payload }
    transform: { jsonata: 'record.status = "active" ? record' }
    deliver: { type: module, module: ${join(dir, 'sink.mjs')}, export: deliver }`)
    expect((await run(makeLease({ payload: { status: 'archived' } }))).outcome).toEqual({ outcome: 'done', note: 'filtered' })
    expect(calls()).toHaveLength(0)
  })

  it('fails for good when a JSONata transform errors at run time', async () => {
    const { run } = await withModules({ 'sink.mjs': recordingSink }, (dir) => `  crm:
    fetch: { type: payload }
    transform: { jsonata: '$number(record.amount)' }
    deliver: { type: module, module: ${join(dir, 'sink.mjs')}, export: deliver }`)
    expect((await run(makeLease({ payload: { amount: 'lots' } }))).outcome).toMatchObject({ outcome: 'fail', error: { code: 'agent.expression_failed' } })
  })
})

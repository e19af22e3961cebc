import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { canonicalJson, contentHash } from '../../../lib/agent/content-hash.ts'
import { LoopGuard } from '../../../lib/agent/loop-guard.ts'
import { groupCommit } from '../../../lib/agent/sinks/group-commit.ts'
import { perDeliverySink } from '../../../lib/agent/sinks/sink.ts'
import { makeLease, tempDir } from './helpers.ts'
import { buildPipeline, type TestPipeline } from './pipeline.ts'

const pipelines: TestPipeline[] = []
const cleanups: (() => void)[] = []
afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close()))
  for (const cleanup of cleanups.splice(0)) cleanup()
})

async function pipeline(loopPrevention = '{ ignoreFields: [updated_at, meta.synced_at] }'): Promise<TestPipeline> {
  const built = await buildPipeline(`  crm:
    fetch: { type: payload }
    deliver: { type: file, path: out.ndjson }
    loopPrevention: ${loopPrevention}`)
  pipelines.push(built)
  return built
}

const delivered = (pipeline: TestPipeline) => {
  try {
    return readFileSync(join(pipeline.dir, 'out.ndjson'), 'utf8').split('\n').filter(Boolean).length
  } catch {
    return 0
  }
}

describe('content hash', () => {
  it('does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 1, x: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":2,"y":1}]},"b":1}')
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }))
  })

  it('leaves out the ignored fields, nested ones included', () => {
    expect(contentHash({ id: 1, updated_at: 'x', meta: { synced_at: 1, keep: true } }, ['updated_at', 'meta.synced_at'])).toBe(
      contentHash({ id: 1, updated_at: 'y', meta: { synced_at: 2, keep: true } }, ['updated_at', 'meta.synced_at']),
    )
    expect(contentHash({ id: 1, meta: { keep: true } }, ['meta.synced_at'])).not.toBe(contentHash({ id: 1, meta: { keep: false } }, ['meta.synced_at']))
  })
})

describe('loop guard', () => {
  it('skips a record whose content equals the last delivery, and acks it unchanged', async () => {
    const built = await pipeline()
    expect((await built.run(makeLease({ payload: { id: 1, name: 'Ada' } }))).outcome).toEqual({ outcome: 'done' })
    expect((await built.run(makeLease({ payload: { name: 'Ada', id: 1 } }))).outcome).toEqual({ outcome: 'done', note: 'unchanged' })
    expect(delivered(built)).toBe(1)
  })

  it('delivers a record whose content changed', async () => {
    const built = await pipeline()
    await built.run(makeLease({ payload: { id: 1, name: 'Ada' } }))
    expect((await built.run(makeLease({ payload: { id: 1, name: 'Ada L.' } }))).outcome).toEqual({ outcome: 'done' })
    expect(delivered(built)).toBe(2)
  })

  it('treats a change in an ignored field as no change', async () => {
    const built = await pipeline()
    await built.run(makeLease({ payload: { id: 1, updated_at: 't1', meta: { synced_at: 1 } } }))
    expect((await built.run(makeLease({ payload: { id: 1, updated_at: 't2', meta: { synced_at: 2 } } }))).outcome).toMatchObject({ note: 'unchanged' })
  })

  it('keeps records apart by source, type and id', async () => {
    const built = await pipeline()
    await built.run(makeLease({ recordId: '1', payload: { same: true } }))
    await built.run(makeLease({ recordId: '2', payload: { same: true } }))
    await built.run(makeLease({ recordId: '1', recordType: 'invoice', payload: { same: true } }))
    expect(delivered(built)).toBe(3)
  })

  it('always delivers deletes, and a record re-created with the old content afterwards', async () => {
    const built = await buildPipeline(`  crm:
    fetch: { type: payload }
    deliver: { type: file, path: out.ndjson }`)
    pipelines.push(built)
    await built.run(makeLease({ payload: { id: 1 } }))
    const source = built.sources.get('crm')!
    // A delete reaches the pipeline from the connector (404/410); swap in one that reports it.
    const connector = source.connector
    source.connector = { fetch: async () => ({ op: 'delete' }) }
    expect((await built.run(makeLease())).outcome).toEqual({ outcome: 'done', note: 'deleted' })
    expect((await built.run(makeLease())).outcome).toEqual({ outcome: 'done', note: 'deleted' })
    source.connector = connector
    expect((await built.run(makeLease({ payload: { id: 1 } }))).outcome).toEqual({ outcome: 'done' })
    expect(delivered(built)).toBe(4)
  })

  it('remembers deliveries across restarts (the hashes live in dataDir)', async () => {
    const dir = tempDir()
    const scope = { source: 'crm', destination: 'd1' }
    try {
      const first = new LoopGuard(dir.path)
      first.remember(scope, 'crm##1', 'abc')
      first.close()
      const second = new LoopGuard(dir.path)
      expect(second.isUnchanged(scope, 'crm##1', 'abc')).toBe(true)
      second.close()
    } finally {
      dir.remove()
    }
  })

  it('delivers unchanged content again to a new destination: the guard is kept per sink', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const yaml = (path: string) => `  crm:\n    fetch: { type: payload }\n    deliver: { type: file, path: ${path} }\n`
    const { buildPipeline: build } = await import('./pipeline.ts')
    const before = await build(yaml('old.ndjson'), { dataDir: dir.path })
    await before.run(makeLease({ payload: { id: 1 } }))
    expect((await before.run(makeLease({ payload: { id: 1 } }))).outcome).toEqual({ outcome: 'done', note: 'unchanged' })
    await before.close()
    const after = await build(yaml('new.ndjson'), { dataDir: dir.path })
    pipelines.push(after)
    expect((await after.run(makeLease({ payload: { id: 1 } }))).outcome).toEqual({ outcome: 'done' })
    expect((await after.run(makeLease({ payload: { id: 1 } }))).outcome).toEqual({ outcome: 'done', note: 'unchanged' })
  })

  it('forgets hashes older than forgetAfterDays, and only those', () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    let now = Date.parse('2030-01-01T00:00:00Z')
    const guard = new LoopGuard(dir.path, () => now)
    const scope = { source: 'crm', destination: 'd1' }
    guard.remember(scope, 'crm##old', 'h1')
    now += 40 * 86_400_000
    guard.remember(scope, 'crm##new', 'h2')
    guard.remember({ source: 'erp', destination: 'd1' }, 'erp##old', 'h3')
    now += 20 * 86_400_000
    expect(guard.prune('crm', 30)).toBe(1)
    expect(guard.isUnchanged(scope, 'crm##old', 'h1')).toBe(false)
    expect(guard.isUnchanged(scope, 'crm##new', 'h2')).toBe(true)
    expect(guard.isUnchanged({ source: 'erp', destination: 'd1' }, 'erp##old', 'h3')).toBe(true)
    guard.close()
  })

  it('records the hash only after a successful delivery', async () => {
    const built = await pipeline()
    const source = built.sources.get('crm')!
    const sink = source.sink
    source.sink = groupCommit(perDeliverySink(async () => Promise.reject(Object.assign(new Error('disk full'), { retryable: true }))))
    expect((await built.run(makeLease({ payload: { id: 1 } }))).outcome).toMatchObject({ outcome: 'retry' })
    source.sink = sink
    expect((await built.run(makeLease({ payload: { id: 1 } }))).outcome).toEqual({ outcome: 'done' })
    expect(delivered(built)).toBe(1)
  })

  it('delivers every time when disabled', async () => {
    const built = await pipeline('{ enabled: false }')
    await built.run(makeLease({ payload: { id: 1 } }))
    await built.run(makeLease({ payload: { id: 1 } }))
    expect(delivered(built)).toBe(2)
  })
})

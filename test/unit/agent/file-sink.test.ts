import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createFileSink } from '../../../lib/agent/sinks/file-sink.ts'
import { groupCommit } from '../../../lib/agent/sinks/group-commit.ts'
import type { Delivery } from '../../../lib/agent/sinks/sink.ts'
import { makeLease, tempDir } from './helpers.ts'
import { buildPipeline, type TestPipeline } from './pipeline.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

function delivery(n: number): Delivery {
  return { op: 'upsert', source: 'crm', recordId: String(n), requestId: `req-${n}`, idempotencyKey: `key-${n}`, record: { n, text: 'x'.repeat(2_000) } }
}

const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe('file sink', () => {
  it('appends one JSON line per delivery, creating the folder', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const file = join(dir.path, 'out', 'crm.ndjson')
    const sink = groupCommit(createFileSink({ path: file }, { now: () => Date.parse('2030-01-01T00:00:00Z') }))
    await sink.deliver(delivery(1))
    await sink.deliver({ op: 'delete', source: 'crm', recordId: '2', requestId: 'req-2', idempotencyKey: 'key-2' })
    await sink.close()
    expect(readLines(file)).toEqual([
      { ...delivery(1), deliveredAt: '2030-01-01T00:00:00.000Z' },
      { op: 'delete', source: 'crm', recordId: '2', requestId: 'req-2', idempotencyKey: 'key-2', deliveredAt: '2030-01-01T00:00:00.000Z' },
    ])
  })

  it('keeps lines whole when many deliveries run at once', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const file = join(dir.path, 'crm.ndjson')
    const sink = groupCommit(createFileSink({ path: file }))
    await Promise.all(Array.from({ length: 200 }, (_, n) => sink.deliver(delivery(n))))
    await sink.close()
    const lines = readLines(file)
    expect(lines).toHaveLength(200)
    expect(new Set(lines.map((line) => line.recordId)).size).toBe(200)
  })

  it('resolves only once the line is in the file', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const file = join(dir.path, 'crm.ndjson')
    const sink = groupCommit(createFileSink({ path: file }))
    cleanups.push(() => sink.close())
    await sink.deliver(delivery(1))
    expect(readLines(file)).toHaveLength(1)
  })

  it('is a retryable failure when the file cannot be written', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const sink = groupCommit(createFileSink({ path: dir.path })) // a folder, not a file
    await expect(sink.deliver(delivery(1))).rejects.toMatchObject({ retryable: true, code: 'agent.deliver_failed' })
    await sink.close()
  })

  it('receives the forwarded payload of a payload source through the pipeline', async () => {
    const pipeline: TestPipeline = await buildPipeline(`  shop:
    fetch: { type: payload }
    deliver: { type: file, path: out/shop.ndjson }`)
    cleanups.push(() => pipeline.close())
    const lease = makeLease({ source: 'shop', recordId: '7', payload: { id: 7, title: 'Hat' } })
    expect((await pipeline.run(lease)).outcome).toEqual({ outcome: 'done' })
    const [line] = readLines(join(pipeline.dir, 'out', 'shop.ndjson'))
    expect(line).toMatchObject({ op: 'upsert', source: 'shop', recordId: '7', requestId: lease.requestId, record: { id: 7, title: 'Hat' } })
    expect(line!.idempotencyKey).toMatch(/^[0-9a-f]{64}$/)
  })
})

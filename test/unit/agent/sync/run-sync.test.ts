import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { permanentError, retryableError } from '../../../../lib/agent/errors.ts'
import { createAfterRun } from '../../../../lib/agent/sync/after-run.ts'
import { HttpClient } from '../../../../lib/agent/http-client.ts'
import type { SyncProgress } from '../../../../lib/relay/agent-api.ts'
import { listApiId } from '../../../support/fake-list-api.ts'
import { makeLease, startTestServer } from '../helpers.ts'
import { startSyncHarness, type SinkHooks, type SyncHarness } from './sync-harness.ts'

const open: SyncHarness[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((harness) => harness.close()))
})

const KEYSET = (url: string) =>
  `list: { type: http, url: "${url}/items?style=keyset&since={since}&since_id={sinceKey}&until={until}&limit={pageSize}", items: data, pagination: { type: since }, order: cursor-key, pageSize: 100 }`

async function harness(options: { count?: number; perTimestamp?: number; sync?: string; extra?: string; hooks?: SinkHooks; list?: (url: string) => string } = {}): Promise<SyncHarness> {
  const started = await startSyncHarness({
    generated: { count: options.count ?? 450, perTimestamp: options.perTimestamp ?? 30 },
    sourceYaml: (url) => [(options.list ?? KEYSET)(url), `sync: { chunkSize: 100, checkpointEveryMs: 0, attempts: 2${options.sync ? `, ${options.sync}` : ''} }`, ...(options.extra ? [options.extra] : [])].join('\n'),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  })
  open.push(started)
  return started
}

const summaryOf = (result: { outcome: { outcome: string } }) => (result.outcome as { sync?: SyncProgress }).sync

describe('sync run executor', () => {
  it('delivers every listed record in chunks and checkpoints each chunk only after it committed', async () => {
    const run = await harness()
    const result = await run.run(run.lease())
    expect(result.outcome).toMatchObject({ outcome: 'done' })
    const ids = run.delivered().map((delivery) => delivery.recordId)
    expect(ids).toEqual(Array.from({ length: 450 }, (_, index) => listApiId(index)))
    expect(run.delivered()[0]).toMatchObject({ op: 'upsert', runId: 'run-1', requestId: 'run-1', version: '2026-01-01T00:00:00.000Z', record: { name: 'record 0' } })
    expect(run.cloud.checkpoints.map((checkpoint) => checkpoint.progress.checkpoint?.key)).toEqual([99, 199, 299, 399, 449].map(listApiId))
    for (const checkpoint of run.cloud.checkpoints) {
      const commit = run.commits.find((entry) => entry.id === checkpoint.progress.checkpoint!.key)!
      expect(commit.at).toBeLessThanOrEqual(checkpoint.receivedAt)
      expect(checkpoint.progress.promote).toBe(true)
    }
    expect(summaryOf(result)).toMatchObject({ checkpoint: { key: listApiId(449) }, counts: { read: 450, written: 450, rejected: 0, pages: 5 }, promote: true })
  })

  it('checkpoints a cursor-ordered source only at cursor values whose ties are all committed', async () => {
    // Ties in groups of 30, chunks of 100: a chunk ends inside a group, the checkpoint stops before it.
    const run = await harness({ list: (url) => KEYSET(url).replace('order: cursor-key', 'order: cursor') })
    const result = await run.run(run.lease())
    expect(run.cloud.checkpoints.map((checkpoint) => checkpoint.progress.checkpoint?.key)).toEqual([89, 179, 269, 389, 419].map(listApiId))
    expect(summaryOf(result)!.checkpoint).toEqual({ cursor: '2026-01-01T00:00:00.014Z', key: listApiId(449) })
  })

  it('never advances the checkpoint past a chunk that failed, and the next attempt resumes from it', async () => {
    let failing = true
    const run = await harness({
      hooks: {
        beforeBatch: (deliveries) => {
          if (failing && deliveries.some((delivery) => delivery.recordId === listApiId(250))) throw retryableError('agent.deliver_failed', 'disk full')
        },
      },
    })
    const first = await run.run(run.lease())
    expect(first.outcome).toMatchObject({ outcome: 'retry', error: { code: 'agent.deliver_failed' } })
    const last = run.cloud.checkpoints.at(-1)!.progress
    expect(last.checkpoint).toEqual({ cursor: '2026-01-01T00:00:00.006Z', key: listApiId(199) })
    expect(run.cloud.checkpoints.every((checkpoint) => checkpoint.progress.checkpoint!.key <= listApiId(199))).toBe(true)

    failing = false
    const resumed = await run.run(run.lease({ after: last.checkpoint!, counts: last.counts }))
    expect(resumed.outcome).toMatchObject({ outcome: 'done' })
    const ids = run.delivered().map((delivery) => delivery.recordId)
    expect(new Set(ids).size).toBe(450)
    expect(ids).toHaveLength(450)
    expect(summaryOf(resumed)!.counts).toMatchObject({ read: 450, written: 450 })
  })

  it('lets the chunk in flight commit, and checkpoints it, before a list failure ends the attempt', async () => {
    const run = await harness({ list: (url) => KEYSET(url).replace('pageSize: 100', 'pageSize: 100, attempts: 2') })
    run.api.onPage = (call) => {
      if (call === 1) run.api.script({ status: 503 }, { status: 503 })
    }
    const result = await run.run(run.lease())
    // An outage of the API hands the run back without spending an attempt (see outcomeOf).
    expect(result.outcome).toMatchObject({ outcome: expect.stringMatching(/^(retry|release)$/), error: { code: 'agent.list_failed' } })
    const committed = run.commits.length
    expect(committed).toBe(200)
    expect(run.cloud.checkpoints.at(-1)!.progress).toMatchObject({ checkpoint: { key: listApiId(199) }, counts: { read: 200, written: 200 } })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(run.commits.length).toBe(committed)
  })

  it('rejects the records the sink refuses, keeps going, and reports them as the run errors', async () => {
    const refused = new Set([listApiId(10), listApiId(320)])
    const run = await harness({ sync: 'rejectLimit: 2', hooks: { outcome: (delivery) => (refused.has(delivery.recordId) ? { ok: false, error: permanentError('agent.database_rejected', `bad value in ${delivery.recordId}`) } : undefined) } })
    const result = await run.run(run.lease())
    expect(result.outcome).toMatchObject({ outcome: 'done' })
    const errors = run.cloud.checkpoints.flatMap((checkpoint) => checkpoint.progress.errors)
    expect(errors.map((error) => [error.key, error.code])).toEqual([[listApiId(10), 'agent.database_rejected'], [listApiId(320), 'agent.database_rejected']])
    expect(summaryOf(result)!.counts).toMatchObject({ read: 450, written: 448, rejected: 2 })
  })

  it('fails the run visibly once the rejects pass the reject limit', async () => {
    const run = await harness({ sync: 'rejectLimit: 2', hooks: { outcome: (delivery) => (Number(delivery.recordId) % 50 === 7 ? { ok: false, error: permanentError('agent.database_rejected', 'no') } : undefined) } })
    const result = await run.run(run.lease())
    expect(result.outcome).toMatchObject({ outcome: 'fail', error: { code: 'agent.sync_reject_limit' } })
    // Checked per chunk: the second chunk brings the rejects to 4 (7, 57, 107, 157).
    expect((result.outcome as { error: { message: string } }).error.message).toMatch(/4 records rejected, more than sync.rejectLimit \(2\)/)
    const last = run.cloud.checkpoints.at(-1)!.progress
    expect(last.counts.rejected).toBe(4)
    expect(run.cloud.checkpoints.flatMap((checkpoint) => checkpoint.progress.errors)).toHaveLength(4)
    // It stops there: at most the chunk being prepared and the page read ahead were read beyond.
    expect(run.api.calls.length).toBeLessThanOrEqual(4)
  })

  it('retries deliveries the sink answers with a retryable error, then rejects them', async () => {
    let tries = 0
    const run = await harness({ count: 20, hooks: { outcome: (delivery) => (delivery.recordId === listApiId(5) && (tries += 1) <= 1 ? { ok: false, error: retryableError('agent.deliver_failed', 'busy') } : undefined) } })
    const result = await run.run(run.lease())
    expect(summaryOf(result)!.counts).toMatchObject({ written: 20, rejected: 0 })
    expect(tries).toBe(2)
  })

  it('gives an HTTP sink a chunk sync.concurrency records at a time', async () => {
    let inFlight = 0
    let most = 0
    const endpoint = await startTestServer(async () => {
      most = Math.max(most, (inFlight += 1))
      await new Promise((resolve) => setTimeout(resolve, 5))
      inFlight -= 1
      return { status: 200, body: {} }
    })
    const started = await startSyncHarness({
      generated: { count: 100 },
      deliver: `{ type: http, url: "${endpoint.url}/contacts/{id}", method: PUT }`,
      sourceYaml: (url) => `${KEYSET(url)}\nsync: { chunkSize: 100, concurrency: 5 }`,
    })
    open.push(started)
    const result = await started.run(started.lease())
    await endpoint.close()
    expect(summaryOf(result)!.counts).toMatchObject({ written: 100 })
    expect(endpoint.requests).toHaveLength(100)
    expect(most).toBe(5)
  })

  it('skips unchanged records on the next run (loop guard) and delivers only what changed', async () => {
    const run = await harness({ count: 120 })
    await run.run(run.lease())
    const again = await run.run(run.lease({ runId: 'run-2' }))
    expect(summaryOf(again)!.counts).toMatchObject({ read: 120, written: 0, unchanged: 120 })
  })

  it('stops when the cloud says the run is no longer ours', async () => {
    const run = await harness({ count: 1000 })
    run.cloud.checkpointStatus = 'lease_lost'
    const result = await run.run(run.lease())
    expect(result.outcome).toMatchObject({ outcome: 'retry', error: { code: 'agent.lease_lost' } })
    expect(run.cloud.checkpoints).toHaveLength(1)
    // The page read ahead at most.
    expect(run.api.calls.length).toBeLessThanOrEqual(3)
  })

  it('deletes what a full run did not see only after a complete, error-free full run', async () => {
    const swept: string[] = []
    let refuse = true
    const run = await harness({ count: 150, hooks: { outcome: (delivery) => (refuse && delivery.recordId === listApiId(3) ? { ok: false, error: permanentError('agent.database_rejected', 'no') } : undefined) } })
    run.source.sync!.config.deletes = true
    run.source.sink.deleteNotSeenInRun = async (runId) => {
      swept.push(runId)
      return 7
    }
    const failed = await run.run(run.lease({ mode: 'full', runId: 'full-1' }))
    expect(summaryOf(failed)!.counts).toMatchObject({ rejected: 1, deleted: 0 })
    refuse = false
    const complete = await run.run(run.lease({ mode: 'full', runId: 'full-2' }))
    expect(swept).toEqual(['full-2'])
    // Unchanged records are delivered too in a deleting full run: the sink must see every row.
    expect(summaryOf(complete)!.counts).toMatchObject({ read: 150, written: 150, unchanged: 0, deleted: 7 })
  })

  it('runs afterRun once with the summary and the changed keys', async () => {
    const run = await harness({ count: 30 })
    const module = join(run.dir, 'after.mjs')
    writeFileSync(module, `export const calls = []\nexport default (summary) => { calls.push(summary) }\n`)
    run.source.sync!.afterRun = await createAfterRun({ type: 'module', module, export: 'default' }, { sink: run.source.sink, http: new HttpClient(), key: 'sources.crm.sync.afterRun' })
    await run.run(run.lease())
    const { calls } = (await import(module)) as { calls: { counts: { written: number }; changedKeys: string[]; changedKeysComplete: boolean; job: string }[] }
    expect(calls).toHaveLength(1)
    expect(calls[0]).toMatchObject({ job: 'nightly', counts: { written: 30 }, changedKeysComplete: true })
    expect(calls[0]!.changedKeys).toHaveLength(30)
  })

  it('fails the run visibly when afterRun keeps failing', async () => {
    const run = await harness({ count: 5 })
    run.source.sync!.afterRun = async () => {
      throw permanentError('agent.after_run_failed', 'procedure refresh_customers does not exist')
    }
    const result = await run.run(run.lease())
    expect(result.outcome).toMatchObject({ outcome: 'fail', error: { code: 'agent.after_run_failed', message: expect.stringMatching(/refresh_customers/) } })
  })

  it('reads an unordered source without checkpoints and promotes the greatest position only at the end', async () => {
    const run = await harness({ count: 250, list: (url) => `list: { type: http, url: "${url}/items?style=offset&offset={offset}&limit={pageSize}", items: data, pagination: { type: offset }, order: none, pageSize: 100 }` })
    const result = await run.run(run.lease())
    expect(run.cloud.checkpoints.every((checkpoint) => checkpoint.progress.checkpoint === undefined && checkpoint.progress.promote === false)).toBe(true)
    expect(summaryOf(result)).toMatchObject({ promote: false, checkpoint: { key: listApiId(249) } })
  })

  it('resends just the asked ids, without moving the watermark', async () => {
    const run = await harness({ count: 100 })
    const result = await run.run(run.lease({ ids: [listApiId(4), listApiId(8)] }))
    expect(run.delivered().map((delivery) => delivery.recordId)).toEqual([listApiId(4), listApiId(8)])
    expect(summaryOf(result)).toMatchObject({ promote: false, counts: { read: 2, written: 2 } })
    expect(summaryOf(result)!.checkpoint).toBeUndefined()
  })

  it('skips our own changes coming back, on the list path and on the webhook path', async () => {
    const run = await harness({ count: 10, extra: `originFilter: "$not(name = 'record 3')"` })
    const result = await run.run(run.lease())
    expect(run.delivered().map((delivery) => delivery.recordId)).not.toContain(listApiId(3))
    expect(summaryOf(result)!.counts).toMatchObject({ read: 10, written: 9, unchanged: 1 })
    const webhook = await run.request(makeLease({ source: 'crm', recordId: listApiId(3) }))
    expect(webhook.outcome).toEqual({ outcome: 'done', note: 'own change' })
  })
})

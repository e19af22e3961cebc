import { describe, expect, it } from 'vitest'
import { permanentError } from '../../../lib/agent/errors.ts'
import { groupCommit } from '../../../lib/agent/sinks/group-commit.ts'
import { perDeliverySink, type Delivery, type DeliveryOutcome, type Sink } from '../../../lib/agent/sinks/sink.ts'

const delivery = (n: number): Delivery => ({ op: 'upsert', source: 'crm', recordId: String(n), requestId: `req-${n}`, idempotencyKey: `key-${n}`, record: { n } })

/** A sink that records its batches and holds each until released, like a slow commit. */
function recordingSink(answer: (d: Delivery) => DeliveryOutcome = () => ({ ok: true })) {
  const batches: string[][] = []
  const pending: (() => void)[] = []
  const sink: Sink = {
    async deliverBatch(deliveries) {
      batches.push(deliveries.map((d) => d.recordId))
      await new Promise<void>((resolve) => pending.push(resolve))
      return deliveries.map(answer)
    },
    async close() {},
  }
  const releaseAll = async () => {
    while (pending.length > 0 || batches.length === 0) {
      pending.shift()?.()
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  return { sink, batches, releaseAll }
}

describe('group commit', () => {
  it('sends a lone delivery to the sink at once, in a batch of its own', async () => {
    const { sink, batches, releaseAll } = recordingSink()
    const grouped = groupCommit(sink)
    const done = grouped.deliver(delivery(1))
    expect(batches).toEqual([['1']])
    await releaseAll()
    await expect(done).resolves.toEqual({})
  })

  it('groups deliveries that become ready while a batch is written, up to maxBatch', async () => {
    const { sink, batches, releaseAll } = recordingSink()
    const grouped = groupCommit(sink, { maxBatch: 3 })
    const results = [1, 2, 3, 4, 5, 6].map((n) => grouped.deliver(delivery(n)))
    const settled = Promise.all(results)
    await releaseAll()
    await settled
    expect(batches).toEqual([['1'], ['2', '3', '4'], ['5', '6']])
  })

  it('gives each caller its own outcome: a refused record does not fail the others', async () => {
    const { sink, releaseAll } = recordingSink((d) => (d.recordId === '3' ? { ok: false, error: permanentError('sink.constraint', 'row 3 violates a check') } : { ok: true, localKey: Number(d.recordId) * 10 }))
    const grouped = groupCommit(sink)
    const results = [1, 2, 3].map((n) => grouped.deliver(delivery(n)).then((r) => r, (e: Error) => e.message))
    await releaseAll()
    expect(await Promise.all(results)).toEqual([{ localKey: 10 }, { localKey: 20 }, 'row 3 violates a check'])
  })

  it('fails every delivery of a batch the sink could not write', async () => {
    const failing: Sink = { deliverBatch: async () => Promise.reject(new Error('connection lost')), close: async () => {} }
    const grouped = groupCommit(failing)
    await expect(Promise.all([grouped.deliver(delivery(1)), grouped.deliver(delivery(2))])).rejects.toThrow('connection lost')
  })
  it('never makes one delivery of a per-delivery sink (HTTP, module) wait for a slow other', async () => {
    let releaseSlow: () => void = () => {}
    const grouped = groupCommit(perDeliverySink(async (d) => {
      if (d.recordId === 'slow') await new Promise<void>((resolve) => (releaseSlow = resolve))
      return {}
    }))
    const slow = grouped.deliver({ ...delivery(0), recordId: 'slow' })
    await expect(grouped.deliver(delivery(1))).resolves.toEqual({})
    releaseSlow()
    await expect(slow).resolves.toEqual({})
  })

  it('writes as many batches at once as the sink says it can', async () => {
    const { sink, batches, releaseAll } = recordingSink()
    const grouped = groupCommit({ ...sink, concurrentBatches: 2 }, { maxBatch: 10 })
    const results = Promise.all([1, 2, 3, 4].map((n) => grouped.deliver(delivery(n))))
    expect(batches).toEqual([['1'], ['2']])
    await releaseAll()
    await results
    expect(batches).toEqual([['1'], ['2'], ['3', '4']])
  })
})

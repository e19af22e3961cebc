import { describe, expect, it } from 'vitest'
import { retryableError } from '../../../../lib/agent/errors.ts'
import type { CheckpointRequest, CheckpointResponse } from '../../../../lib/relay/agent-api.ts'
import { ZERO_COUNTS, type RunError } from '../../../../lib/relay/sync-types.ts'
import { RunProgress } from '../../../../lib/agent/sync/run-progress.ts'

/**
 * A run's progress as the agent sends it (run-sync.test.ts sees it through whole runs): what a
 * checkpoint carries, when it is due, how errors are batched, and the final summary.
 */

const error = (index: number): RunError => ({ key: `k${index}`, message: `bad ${index}`, at: '2031-03-01T12:00:00.000Z' })

function progressWith(options: { everyMs?: number; promote?: boolean; sendPositions?: boolean; after?: { cursor: number; key: string }; answer?: (request: CheckpointRequest) => CheckpointResponse['status']; call?: (request: CheckpointRequest) => Promise<CheckpointResponse> } = {}) {
  const calls: CheckpointRequest[] = []
  const progress = new RunProgress({
    lease: 'lease-1',
    call: async (request) => {
      calls.push(structuredClone(request))
      return options.call ? options.call(request) : { status: options.answer?.(request) ?? 'ok' }
    },
    counts: { ...ZERO_COUNTS, read: 3 },
    ...(options.after ? { after: options.after } : {}),
    everyMs: options.everyMs ?? 1000,
    promote: options.promote ?? true,
    sendPositions: options.sendPositions ?? true,
  })
  return { progress, calls }
}

describe('RunProgress: what a checkpoint carries', () => {
  it('sends the lease, the committed position, a copy of the counts, the errors and promote', async () => {
    const { progress, calls } = progressWith({ promote: false })
    progress.counts.read = 10
    progress.committed({ cursor: 5, key: 'e' })
    progress.reject(error(1))
    expect(await progress.flush(true, 5000)).toBe('ok')
    expect(calls).toEqual([{ lease: 'lease-1', progress: { checkpoint: { cursor: 5, key: 'e' }, counts: { ...ZERO_COUNTS, read: 10 }, errors: [error(1)], promote: false } }])
    expect(progress.checkpoint).toEqual({ cursor: 5, key: 'e' })
  })

  it('starts from the position it resumes after and from its own copy of the counts', async () => {
    const counts = { ...ZERO_COUNTS, read: 3 }
    const progress = new RunProgress({ lease: 'l', call: async () => ({ status: 'ok' }), counts, after: { cursor: 2, key: 'b' }, everyMs: 0, promote: true, sendPositions: true })
    counts.read = 99
    expect(progress.counts.read).toBe(3)
    expect(progress.checkpoint).toEqual({ cursor: 2, key: 'b' })
  })

  it('keeps the last position when a chunk without one is committed', async () => {
    const { progress, calls } = progressWith({ after: { cursor: 1, key: 'a' } })
    progress.committed(undefined)
    expect(progress.checkpoint).toEqual({ cursor: 1, key: 'a' })
    await progress.flush(true, 5000)
    expect(calls[0]?.progress.checkpoint).toEqual({ cursor: 1, key: 'a' })
  })

  it('sends no position for an unordered source or a resend, only counts and errors', async () => {
    const { progress, calls } = progressWith({ sendPositions: false })
    progress.committed({ cursor: 5, key: 'e' })
    await progress.flush(true, 5000)
    expect(calls).toHaveLength(1)
    expect('checkpoint' in calls[0]!.progress).toBe(false)
    expect(progress.checkpoint).toEqual({ cursor: 5, key: 'e' })
  })

  it('sends no position before one is committed', async () => {
    const { progress, calls } = progressWith()
    progress.reject(error(1))
    await progress.flush(true, 5000)
    expect('checkpoint' in calls[0]!.progress).toBe(false)
  })
})

describe('RunProgress: when a checkpoint is sent', () => {
  it('sends nothing while nothing changed, forced or not', async () => {
    const { progress, calls } = progressWith()
    expect(await progress.flush(true, 5000)).toBe('ok')
    expect(await progress.flush(false, 5000)).toBe('ok')
    expect(calls).toHaveLength(0)
  })

  it('sends at most once per everyMs unless forced, and again at exactly everyMs', async () => {
    const { progress, calls } = progressWith({ everyMs: 1000 })
    progress.committed({ cursor: 1, key: 'a' })
    expect(await progress.flush(false, 999)).toBe('ok')
    expect(calls).toHaveLength(0)
    await progress.flush(false, 1000)
    expect(calls).toHaveLength(1)
    // Sent: nothing is due until something changes.
    await progress.flush(true, 1500)
    expect(calls).toHaveLength(1)
    progress.committed({ cursor: 2, key: 'b' })
    await progress.flush(false, 1999)
    expect(calls).toHaveLength(1)
    await progress.flush(true, 1999)
    expect(calls).toHaveLength(2)
    progress.committed({ cursor: 3, key: 'c' })
    await progress.flush(false, 2998)
    expect(calls).toHaveLength(2)
    await progress.flush(false, 2999)
    expect(calls.map((call) => call.progress.checkpoint?.cursor)).toEqual([1, 2, 3])
  })

  it('is due before everyMs once 100 errors wait, and sends them 100 per call', async () => {
    const { progress, calls } = progressWith({ everyMs: 60_000 })
    for (let index = 0; index < 99; index += 1) progress.reject(error(index))
    await progress.flush(false, 10)
    expect(calls).toHaveLength(0)
    for (let index = 99; index < 250; index += 1) progress.reject(error(index))
    expect(await progress.flush(false, 20)).toBe('ok')
    expect(calls.map((call) => call.progress.errors.length)).toEqual([100, 100, 50])
    expect(calls.flatMap((call) => call.progress.errors.map((each) => each.key))).toEqual(Array.from({ length: 250 }, (_, index) => `k${index}`))
    // All sent: the summary has none left, and nothing is due.
    await progress.flush(true, 30)
    expect(calls).toHaveLength(3)
    expect(progress.summary(undefined).errors).toEqual([])
  })

  it('stops at the cloud\'s lease_lost and keeps the errors not accepted', async () => {
    const { progress, calls } = progressWith({ answer: () => 'lease_lost' })
    for (let index = 0; index < 150; index += 1) progress.reject(error(index))
    expect(await progress.flush(true, 5000)).toBe('lease_lost')
    expect(calls).toHaveLength(1)
    const summary = progress.summary(undefined)
    expect(summary.errors).toHaveLength(100)
    expect(summary.errors[0]).toEqual(error(0))
    // Still unsent: the next flush tries again.
    await progress.flush(false, 5001)
    expect(calls).toHaveLength(2)
  })

  it('sends one checkpoint call at a time, even when flushes overlap', async () => {
    const order: string[] = []
    let release: () => void = () => {}
    let calls = 0
    const { progress } = progressWith({
      everyMs: 0,
      call: async (request) => {
        const call = ++calls
        order.push(`start ${call}: ${request.progress.errors.length} errors`)
        if (call === 1) await new Promise<void>((resolve) => (release = resolve))
        order.push(`end ${call}`)
        return { status: 'ok' }
      },
    })
    progress.committed({ cursor: 1, key: 'a' })
    const first = progress.flush(true, 1)
    await new Promise((resolve) => setImmediate(resolve))
    progress.reject(error(1))
    const second = progress.flush(true, 2)
    await new Promise((resolve) => setImmediate(resolve))
    expect(order).toEqual(['start 1: 0 errors'])
    release()
    expect(await Promise.all([first, second])).toEqual(['ok', 'ok'])
    // The error that came during the first call is sent once, after it.
    expect(order).toEqual(['start 1: 0 errors', 'end 1', 'start 2: 1 errors', 'end 2'])
  })

  it('a failed checkpoint call does not stop the next one', async () => {
    let fail = true
    const { progress } = progressWith({
      everyMs: 0,
      call: async () => {
        if (fail) throw new Error('network down')
        return { status: 'ok' }
      },
    })
    progress.committed({ cursor: 1, key: 'a' })
    await expect(progress.flush(true, 1)).rejects.toThrow('network down')
    fail = false
    expect(await progress.flush(true, 2)).toBe('ok')
  })
})

describe('RunProgress: errors and failures', () => {
  it('is due with exactly 100 errors waiting, and not with 99', async () => {
    const { progress, calls } = progressWith({ everyMs: 60_000 })
    for (let index = 0; index < 99; index += 1) progress.reject(error(index))
    await progress.flush(false, 10)
    expect(calls).toHaveLength(0)
    progress.reject(error(99))
    await progress.flush(false, 11)
    expect(calls.map((call) => call.progress.errors.length)).toEqual([100])
  })

  it('does not retry a checkpoint call once the run is aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    let attempts = 0
    const { progress } = progressWith({
      everyMs: 0,
      call: async () => {
        attempts += 1
        throw retryableError('agent.cloud_unavailable', 'cloud down')
      },
    })
    progress.committed({ cursor: 1, key: 'a' })
    await expect(progress.flush(true, 1, controller.signal)).rejects.toThrow('cloud down')
    expect(attempts).toBe(1)
  })
})

describe('RunProgress: the final summary', () => {
  it('names the final position, else the last committed one, with counts, errors and promote', () => {
    const { progress } = progressWith({ promote: false, after: { cursor: 1, key: 'a' } })
    progress.reject(error(1))
    expect(progress.summary({ cursor: 9, key: 'z' })).toEqual({ checkpoint: { cursor: 9, key: 'z' }, counts: { ...ZERO_COUNTS, read: 3 }, errors: [error(1)], promote: false })
    expect(progress.summary(undefined)).toEqual({ checkpoint: { cursor: 1, key: 'a' }, counts: { ...ZERO_COUNTS, read: 3 }, errors: [], promote: false })
  })

  it('has no checkpoint when no position is known, and gives at most 100 errors', () => {
    const { progress } = progressWith()
    for (let index = 0; index < 120; index += 1) progress.reject(error(index))
    const summary = progress.summary(undefined)
    expect('checkpoint' in summary).toBe(false)
    expect(summary.errors).toHaveLength(100)
    expect(summary.promote).toBe(true)
    expect(progress.summary(undefined).errors.map((each) => each.key)).toEqual(Array.from({ length: 20 }, (_, index) => `k${100 + index}`))
  })

  it('gives copies of the counts', () => {
    const { progress } = progressWith()
    const summary = progress.summary(undefined)
    progress.counts.read = 50
    expect(summary.counts.read).toBe(3)
  })
})

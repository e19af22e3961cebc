import { describe, expect, it } from 'vitest'
import type { RecordMutation } from '../../../lib/ports/ledger.ts'
import { decideClaim, decideEvent, decideExtend, decideFinish, decideRedriven, decideRelease, decideRetry, decideTakeOver, type NewRequestSpec } from '../../../lib/relay/record-machine.ts'
import { keepLast, recordPointingAt } from '../../../lib/relay/record-state.ts'
import { decideReplay } from '../../../lib/relay/replay-decisions.ts'
import type { RelayRequest } from '../../../lib/relay/types.ts'
import { RecordStore } from './record-store.ts'

/**
 * The state machine's edges (record-machine.test.ts walks its main paths): forwarded payloads,
 * exact lease boundaries, what each closed attempt and dead letter records, and snapshots where
 * the record's current request is not the one a decision is about.
 */

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds))
let counter = 0
const spec = (maxAttempts = 3): NewRequestSpec => ({ id: `r${++counter}`, source: 'crm', recordKey: 'crm##42', recordId: '42', mode: 'async', maxAttempts })
const event = (id: string, seconds = 0) => ({ deliveryId: id, event: 'customer.updated', receivedAt: at(seconds).toISOString() })
const lease = (requestId: string, leaseId: string, seconds: number) => ({ requestId, leaseId, agentId: 'a1', now: at(seconds), retentionSeconds: 3600, nextRequestId: `next-${++counter}` })
const claim = (store: RecordStore, requestId: string, leaseId: string, seconds: number, leaseSeconds = 30) =>
  store.apply(decideClaim(store.snapshot(), { requestId, leaseId, agentId: 'a1', leaseSeconds, now: at(seconds), nextRequestId: `n${++counter}` }))
const newEvent = (store: RecordStore, id: string, seconds: number, payload?: unknown, maxAttempts?: number) =>
  store.apply(decideEvent(store.snapshot(), { request: spec(maxAttempts), event: event(id, seconds), now: at(seconds), ...(payload === undefined ? {} : { payload }) }))

describe('forwarded payloads', () => {
  it('are kept on the request, replaced by a newer event\'s, and absent where none was forwarded', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0, { v: 1 })
    expect(store.request(first.requestId).payload).toEqual({ v: 1 })
    newEvent(store, 'd2', 1, { v: 2 })
    expect(store.request(first.requestId).payload).toEqual({ v: 2 })
    newEvent(store, 'd3', 2)
    expect(store.request(first.requestId).payload).toEqual({ v: 2 })

    const plain = new RecordStore()
    const created = newEvent(plain, 'd1', 0)
    expect('payload' in plain.request(created.requestId)).toBe(false)
  })

  it('that arrive during processing go to the follow-up request, or into the retried one', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0, { v: 1 })
    claim(store, first.requestId, 'L1', 1)
    newEvent(store, 'd2', 2)
    expect('pendingPayload' in store.record!).toBe(false)
    newEvent(store, 'd3', 3, { v: 3 })
    expect(store.record?.pendingPayload).toEqual({ v: 3 })
    const done = store.apply(decideFinish(store.snapshot(), { ...lease(first.requestId, 'L1', 4), outcome: 'done' }))
    expect(done.status === 'ok' && done.next?.payload).toEqual({ v: 3 })

    const retried = new RecordStore()
    const again = newEvent(retried, 'd1', 0, { v: 1 })
    claim(retried, again.requestId, 'L1', 1)
    newEvent(retried, 'd2', 2, { v: 2 })
    retried.apply(decideRetry(retried.snapshot(), { ...lease(again.requestId, 'L1', 3), error: { message: 'x' }, delaySeconds: 0 }))
    expect(retried.request(again.requestId)).toMatchObject({ state: 'queued', payload: { v: 2 }, eventCount: 2 })
    // Without a pending payload the request keeps the one it had.
    const kept = new RecordStore()
    const third = newEvent(kept, 'd1', 0, { v: 1 })
    claim(kept, third.requestId, 'L1', 1)
    newEvent(kept, 'd2', 2)
    kept.apply(decideRetry(kept.snapshot(), { ...lease(third.requestId, 'L1', 3), error: { message: 'x' }, delaySeconds: 0 }))
    expect(kept.request(third.requestId).payload).toEqual({ v: 1 })
  })
})

describe('events for a record whose pointer and request disagree', () => {
  it('make a new request when the record says queued but its request is not', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    store.requests.set(first.requestId, { ...store.request(first.requestId), state: 'dead' })
    expect(newEvent(store, 'd2', 1)).toMatchObject({ outcome: 'created', send: true })
  })

  it('make a new request when the record says processing but its request is not leased', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 1)
    store.requests.set(first.requestId, { ...store.request(first.requestId), state: 'done' })
    expect(newEvent(store, 'd2', 2)).toMatchObject({ outcome: 'created', send: true })
  })
})

describe('leases at their boundaries', () => {
  it('can be claimed again exactly when they expire, and not a second before', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 1)
    expect(claim(store, first.requestId, 'L2', 30)).toEqual({ status: 'not_yet', retryInSeconds: 2 })
    expect(claim(store, first.requestId, 'L2', 31)).toMatchObject({ status: 'claimed' })
  })

  it('cannot be extended at the moment they expire', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    expect(store.apply(decideExtend(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'a1', seconds: 60, now: at(30) }))).toEqual({ status: 'lease_lost' })
    expect(store.apply(decideExtend(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'a1', seconds: 60, now: at(29) }))).toMatchObject({ status: 'ok' })
    expect(store.request(first.requestId).lease?.expiresAt).toBe(at(89).toISOString())
  })

  it('are refused for a request that is unknown, or no longer leased', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    expect(store.apply(decideFinish(store.snapshot(), { ...lease('unknown', 'L1', 1), outcome: 'done' }))).toEqual({ status: 'lease_lost' })
    claim(store, first.requestId, 'L1', 1)
    store.apply(decideRelease(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'a1', now: at(2) }))
    const late: RecordMutation<{ status: string }>[] = [
      decideFinish(store.snapshot(), { ...lease(first.requestId, 'L1', 3), outcome: 'done' }),
      decideRetry(store.snapshot(), { ...lease(first.requestId, 'L1', 3), error: { message: 'x' }, delaySeconds: 0 }),
      decideRelease(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'a1', now: at(3) }),
      decideExtend(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'a1', seconds: 5, now: at(3) }),
    ]
    for (const mutation of late) expect(mutation).toEqual({ result: { status: 'lease_lost' } })
  })
})

describe('what an attempt leaves behind', () => {
  it('an expired lease closes its attempt with the reason and sets lastError on the next one', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    expect(store.request(first.requestId).lastError).toBeUndefined()
    claim(store, first.requestId, 'L2', 31)
    const request = store.request(first.requestId)
    expect(request.history[0]).toMatchObject({ outcome: 'lease_expired', error: { message: 'lease expired without an ack' }, durationMs: 31_000 })
    expect(request.lastError).toEqual({ code: 'lease.expired', message: 'lease expired without an ack (agent crashed or lost contact)' })
  })

  it('a retry asked for with no attempts left says how many were made', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0, undefined, 1)
    claim(store, first.requestId, 'L1', 0)
    expect(store.apply(decideRetry(store.snapshot(), { ...lease(first.requestId, 'L1', 1), error: { code: 'sink.down', message: 'refused' }, delaySeconds: 0 }))).toMatchObject({ status: 'dead_lettered' })
    expect(store.request(first.requestId).lastError).toEqual({ code: 'sink.down', message: 'refused (gave up after 1 attempts)' })
  })

  it('a release gives the attempt back and records it as released', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    store.apply(decideRetry(store.snapshot(), { ...lease(first.requestId, 'L1', 1), error: { message: 'x' }, delaySeconds: 0 }))
    claim(store, first.requestId, 'L2', 2)
    store.apply(decideRelease(store.snapshot(), { requestId: first.requestId, leaseId: 'L2', agentId: 'a1', now: at(3) }))
    expect(store.request(first.requestId)).toMatchObject({ attempts: 1, state: 'queued' })
    expect(store.request(first.requestId).history.map((attempt) => attempt.outcome)).toEqual(['retry', 'released'])
  })

  it('a retry folds the deferred follow-up away for a week, pointing at the retried request', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    const deferred = newEvent(store, 'd2', 1)
    store.apply(decideRetry(store.snapshot(), { ...lease(first.requestId, 'L1', 2), error: { message: 'x' }, delaySeconds: 0 }))
    expect(store.request(deferred.requestId).expiresAt).toBe(Math.floor(at(2).getTime() / 1000) + 7 * 86_400)
  })

  it('a finished record goes idle and expires with the retention; one dead-lettered by expired leases does not expire', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    store.apply(decideFinish(store.snapshot(), { ...lease(first.requestId, 'L1', 5), outcome: 'done' }))
    expect(store.record).toMatchObject({ state: 'idle', expiresAt: Math.floor(at(5).getTime() / 1000) + 3600 })

    const exhausted = new RecordStore()
    const only = newEvent(exhausted, 'd1', 0, undefined, 1)
    claim(exhausted, only.requestId, 'L1', 0)
    expect(claim(exhausted, only.requestId, 'L2', 31)).toMatchObject({ status: 'exhausted' })
    expect(exhausted.request(only.requestId)).toMatchObject({ state: 'dead', lastError: { code: 'lease.expired' } })
    expect(exhausted.record?.state).toBe('idle')
    expect(exhausted.record?.expiresAt).toBeUndefined()
  })
})

describe('a request that is not its record\'s current one', () => {
  it('dead-lettered by a redrive leaves the record and its current request alone', () => {
    const store = new RecordStore()
    const current = newEvent(store, 'd1', 0)
    const stale: RelayRequest = { ...store.request(current.requestId), id: 'stale', rev: 0 }
    store.requests.set('stale', stale)
    const recordBefore = store.record
    expect(store.apply(decideRedriven(store.snapshot(), { requestId: 'stale', receiveCount: 9, now: at(1), nextRequestId: 'n' }))).toEqual({ deadLettered: true })
    expect(store.request('stale')).toMatchObject({ state: 'dead', lastError: { code: 'queue.redriven' } })
    expect(store.record).toBe(recordBefore)
  })
})

describe('dead-letter replay into a busy record', () => {
  function deadAndBusy(): { store: RecordStore; dead: string; busy: string } {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    store.apply(decideFinish(store.snapshot(), { ...lease(first.requestId, 'L1', 1), outcome: 'fail', error: { message: 'sink down' } }))
    const busy = newEvent(store, 'd2', 2)
    return { store, dead: first.requestId, busy: busy.requestId }
  }

  it('folds into queued work, carrying its events, and asks for a message only if that work has none yet', () => {
    const { store, dead, busy } = deadAndBusy()
    const result = store.apply(decideReplay(store.snapshot(), { requestId: dead, now: at(3), by: 'ops' }))
    expect(result).toEqual({ status: 'folded', intoRequestId: busy, send: true })
    expect(store.request(busy)).toMatchObject({ eventCount: 2, events: [expect.objectContaining({ deliveryId: 'd2' }), expect.objectContaining({ deliveryId: 'd1' })] })
    expect(store.request(dead)).toMatchObject({ state: 'discarded', discardReason: `replayed by ops: folded into request ${busy}` })

    const sent = deadAndBusy()
    sent.store.requests.set(sent.busy, { ...sent.store.request(sent.busy), sentAt: at(2).toISOString() })
    expect(sent.store.apply(decideReplay(sent.store.snapshot(), { requestId: sent.dead, now: at(3), by: 'ops' }))).toMatchObject({ send: false })
  })

  it('folds into running work as pending events, for exactly one more fetch afterwards', () => {
    const { store, dead, busy } = deadAndBusy()
    claim(store, busy, 'L2', 3)
    expect(store.apply(decideReplay(store.snapshot(), { requestId: dead, now: at(4), by: 'ops' }))).toEqual({ status: 'folded', intoRequestId: busy, send: false })
    expect(store.record).toMatchObject({ state: 'processing', dirty: true, pendingEvents: [expect.objectContaining({ deliveryId: 'd1' })] })
    const finished = store.apply(decideFinish(store.snapshot(), { ...lease(busy, 'L2', 5), outcome: 'done' }))
    expect(finished.status === 'ok' && finished.next).toMatchObject({ state: 'queued', eventCount: 1 })
  })

  it('queues again when the record points at the dead request itself', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    store.apply(decideFinish(store.snapshot(), { ...lease(first.requestId, 'L1', 1), outcome: 'fail', error: { message: 'sink down' } }))
    // The record was left "queued" pointing at it (e.g. written by an older version).
    store.record = { ...store.record!, state: 'queued' }
    expect(store.apply(decideReplay(store.snapshot(), { requestId: first.requestId, now: at(2), by: 'ops' }))).toMatchObject({ status: 'requeued' })
  })
})

describe('a restarted agent taking back a lease (decideTakeOver)', () => {
  it('requeues the request unsent, closing the attempt as expired; the attempt counts', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    store.requests.set(first.requestId, { ...store.request(first.requestId), sentAt: at(0).toISOString() })
    expect(store.apply(decideTakeOver(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', now: at(4) }))).toEqual({ status: 'requeued' })
    const request = store.request(first.requestId)
    expect(request).toMatchObject({ state: 'queued', attempts: 1, lastError: { code: 'lease.taken_over' } })
    expect(request.history).toEqual([expect.objectContaining({ leaseId: 'L1', outcome: 'lease_expired', durationMs: 4000, error: { code: 'lease.taken_over', message: 'the agent restarted: the lease of its previous process was taken back' } })])
    expect('sentAt' in request).toBe(false)
    expect('lease' in request).toBe(false)
    expect(store.record).toMatchObject({ state: 'queued', requestId: first.requestId })
    // The old process's late ack is refused: its lease id is gone.
    expect(store.apply(decideFinish(store.snapshot(), { ...lease(first.requestId, 'L1', 5), outcome: 'done' }))).toEqual({ status: 'lease_lost' })
  })

  it('folds events that came meanwhile into the requeued request; the folded follow-up keeps its own fields', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    const deferred = newEvent(store, 'd2', 1)
    store.requests.set(deferred.requestId, { ...store.request(deferred.requestId), sentAt: at(1).toISOString() })
    store.apply(decideTakeOver(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', now: at(2) }))
    expect(store.request(first.requestId)).toMatchObject({ state: 'queued', eventCount: 2 })
    expect(store.request(deferred.requestId)).toMatchObject({ state: 'discarded', sentAt: at(1).toISOString() })
  })

  it('writes nothing when the request moved on: unknown, finished, or leased again under another lease', () => {
    const store = new RecordStore()
    expect(decideTakeOver(store.snapshot(), { requestId: 'unknown', leaseId: 'L1', now: at(1) })).toEqual({ result: { status: 'moved_on' } })
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    store.apply(decideRelease(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'a1', now: at(1) }))
    expect(decideTakeOver(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', now: at(2) })).toEqual({ result: { status: 'moved_on' } })
    claim(store, first.requestId, 'L2', 2)
    expect(decideTakeOver(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', now: at(3) })).toEqual({ result: { status: 'moved_on' } })
    store.apply(decideFinish(store.snapshot(), { ...lease(first.requestId, 'L2', 4), outcome: 'done' }))
    expect(decideTakeOver(store.snapshot(), { requestId: first.requestId, leaseId: 'L2', now: at(5) })).toEqual({ result: { status: 'moved_on' } })
  })
})

describe('record state helpers', () => {
  it('keepLast keeps at most max items, the newest', () => {
    expect(keepLast([1, 2, 3], 3)).toEqual([1, 2, 3])
    expect(keepLast([1, 2, 3], 2)).toEqual([2, 3])
    expect(keepLast([1, 2], 5)).toEqual([1, 2])
  })

  it('a fresh record state keeps the stored revision, or starts at 0', () => {
    expect(recordPointingAt({ record: undefined, requests: new Map() }, 'crm', 'crm##1', 'queued', 'r1', at(0)).rev).toBe(0)
    const stored = { record: { source: 'crm', recordKey: 'crm##1', state: 'idle' as const, requestId: 'r0', dirty: false, pendingEvents: [], updatedAt: at(0).toISOString(), rev: 7 }, requests: new Map() }
    expect(recordPointingAt(stored, 'crm', 'crm##1', 'queued', 'r1', at(1))).toMatchObject({ rev: 7, requestId: 'r1', state: 'queued', dirty: false })
  })
})

describe('run bookkeeping stays on sync records', () => {
  it('a finished webhook request leaves no job state on its record', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    store.apply(decideFinish(store.snapshot(), { ...lease(first.requestId, 'L1', 1), outcome: 'done' }))
    expect(store.record?.state).toBe('idle')
    expect('job' in store.record!).toBe(false)
    expect('sync' in store.request(first.requestId)).toBe(false)
  })
})

describe('a redrive of a leased request', () => {
  it('closes the open attempt as an expired lease with the queue\'s reason', () => {
    const store = new RecordStore()
    const first = newEvent(store, 'd1', 0)
    claim(store, first.requestId, 'L1', 0)
    expect(store.apply(decideRedriven(store.snapshot(), { requestId: first.requestId, receiveCount: 7, now: at(3), nextRequestId: 'n' }))).toEqual({ deadLettered: true })
    expect(store.request(first.requestId).history).toEqual([
      expect.objectContaining({ leaseId: 'L1', outcome: 'lease_expired', durationMs: 3000, error: { code: 'queue.redriven', message: 'the queue gave up after 7 receives without completion' } }),
    ])
    expect('lease' in store.request(first.requestId)).toBe(false)
  })
})

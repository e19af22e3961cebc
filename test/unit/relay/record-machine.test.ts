import { describe, expect, it } from 'vitest'
import {
  decideClaim,
  decideEvent,
  decideExtend,
  decideFinish,
  decideRelease,
  decideRetry,
  type NewRequestSpec,
} from '../../../lib/relay/record-machine.ts'
import { decideDiscard, decideReplay } from '../../../lib/relay/replay-decisions.ts'
import { RecordStore } from './record-store.ts'


const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds))
let counter = 0
const spec = (): NewRequestSpec => ({ id: `r${++counter}`, source: 'crm', recordKey: 'crm##42', recordId: '42', mode: 'async', maxAttempts: 3 })
const event = (id: string, seconds = 0) => ({ deliveryId: id, event: 'customer.updated', receivedAt: at(seconds).toISOString() })
const common = (requestId: string, leaseId: string, seconds: number) => ({ requestId, leaseId, agentId: 'a1', now: at(seconds), retentionSeconds: 3600, nextRequestId: `next-${++counter}` })

function claim(store: RecordStore, requestId: string, leaseId: string, seconds: number) {
  return store.apply(decideClaim(store.snapshot(), { requestId, leaseId, agentId: 'a1', leaseSeconds: 30, now: at(seconds), nextRequestId: `n${++counter}` }))
}

describe('record state machine', () => {
  it('creates one queued request for the first event of a record', () => {
    const store = new RecordStore()
    const result = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    expect(result).toMatchObject({ outcome: 'created', send: true })
    expect(store.record).toMatchObject({ state: 'queued', requestId: result.requestId })
    expect(store.requests.get(result.requestId)).toMatchObject({ state: 'queued', eventCount: 1, attempts: 0 })
  })

  it('coalesces events for a waiting record into the queued request without a second message', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    store.requests.set(first.requestId, { ...store.requests.get(first.requestId)!, sentAt: at(0).toISOString() })
    const second = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d2', 1), now: at(1) }))
    expect(second).toEqual({ outcome: 'coalesced', requestId: first.requestId, send: false })
    expect(store.requests.size).toBe(1)
    expect(store.requests.get(first.requestId)!.eventCount).toBe(2)
  })

  it('asks to re-send when the waiting request was never confirmed sent (a failed enqueue is retried)', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    const retry = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1', 1), now: at(1) }))
    expect(retry).toEqual({ outcome: 'coalesced', requestId: first.requestId, send: true })
  })

  it('defers events during processing to one deferred follow-up request, queued when the current one is done', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    expect(claim(store, first.requestId, 'L1', 1)).toMatchObject({ status: 'claimed' })
    const answers = Array.from({ length: 5 }, (_, index) => store.apply(decideEvent(store.snapshot(), { request: spec(), event: event(`x${index}`, 2), now: at(2) })))
    const followUp = answers[0]!.requestId
    expect(followUp).not.toBe(first.requestId)
    for (const deferred of answers) expect(deferred).toEqual({ outcome: 'deferred', requestId: followUp, send: false })
    // The id the 202 named exists at once and lists the events it will handle.
    expect(store.requests.get(followUp)).toMatchObject({ state: 'deferred', eventCount: 5, events: answers.map((_, index) => expect.objectContaining({ deliveryId: `x${index}` })) })
    expect(claim(store, followUp, 'L9', 2)).toEqual({ status: 'gone' })
    const finished = store.apply(decideFinish(store.snapshot(), { ...common(first.requestId, 'L1', 3), outcome: 'done' }))
    expect(finished).toMatchObject({ status: 'ok' })
    expect(finished.status === 'ok' && finished.next).toMatchObject({ id: followUp, state: 'queued', eventCount: 5 })
    expect(store.record).toMatchObject({ requestId: followUp })
    expect(store.record?.nextRequestId).toBeUndefined()
    expect(store.record).toMatchObject({ state: 'queued', dirty: false, pendingEvents: [] })
    expect([...store.requests.values()].filter((request) => request.state === 'queued')).toHaveLength(1)
  })

  it('goes idle after done when nothing arrived meanwhile', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    claim(store, first.requestId, 'L1', 1)
    const finished = store.apply(decideFinish(store.snapshot(), { ...common(first.requestId, 'L1', 2), outcome: 'done' }))
    expect(finished.status === 'ok' && finished.next).toBeUndefined()
    expect(store.record?.state).toBe('idle')
    expect(store.requests.get(first.requestId)).toMatchObject({ state: 'done', expiresAt: Math.floor(at(2).getTime() / 1000) + 3600 })
  })

  it('never leases a request twice while its lease is live', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    claim(store, first.requestId, 'L1', 1)
    expect(claim(store, first.requestId, 'L2', 5)).toEqual({ status: 'not_yet', retryInSeconds: 27 })
  })

  it('re-leases after the lease expired and rejects the old lease holder', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    claim(store, first.requestId, 'L1', 1)
    expect(claim(store, first.requestId, 'L2', 40)).toMatchObject({ status: 'claimed', request: { attempts: 2 } })
    expect(store.requests.get(first.requestId)!.history[0]).toMatchObject({ outcome: 'lease_expired' })
    const stale = store.apply(decideFinish(store.snapshot(), { ...common(first.requestId, 'L1', 41), outcome: 'done' }))
    expect(stale).toEqual({ status: 'lease_lost' })
  })

  it('dead-letters on claim when expired leases used up the attempts', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    claim(store, first.requestId, 'L1', 0)
    claim(store, first.requestId, 'L2', 40)
    claim(store, first.requestId, 'L3', 80)
    expect(claim(store, first.requestId, 'L4', 120)).toMatchObject({ status: 'exhausted' })
    expect(store.requests.get(first.requestId)).toMatchObject({ state: 'dead', lastError: { code: 'lease.expired' } })
    expect(store.record?.state).toBe('idle')
  })

  it('schedules a retry, hides it until then, and dead-letters after the attempt limit', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    const error = { code: 'sink.down', message: 'connection refused' }
    claim(store, first.requestId, 'L1', 0)
    expect(store.apply(decideRetry(store.snapshot(), { ...common(first.requestId, 'L1', 1), error, delaySeconds: 10 }))).toMatchObject({ status: 'ok', nextAttemptAt: at(11).toISOString() })
    expect(claim(store, first.requestId, 'L2', 5)).toEqual({ status: 'not_yet', retryInSeconds: 6 })
    claim(store, first.requestId, 'L2', 12)
    store.apply(decideRetry(store.snapshot(), { ...common(first.requestId, 'L2', 13), error, delaySeconds: 0 }))
    claim(store, first.requestId, 'L3', 14)
    const last = store.apply(decideRetry(store.snapshot(), { ...common(first.requestId, 'L3', 15), error, delaySeconds: 0 }))
    expect(last).toMatchObject({ status: 'dead_lettered' })
    expect(store.requests.get(first.requestId)).toMatchObject({ state: 'dead', attempts: 3, lastError: { code: 'sink.down' } })
    expect(store.requests.get(first.requestId)!.history.map((attempt) => attempt.outcome)).toEqual(['retry', 'retry', 'fail'])
  })

  it('folds events that arrived during a failed attempt into the retry instead of a second request', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    claim(store, first.requestId, 'L1', 0)
    const deferred = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d2', 1), now: at(1) }))
    store.apply(decideRetry(store.snapshot(), { ...common(first.requestId, 'L1', 2), error: { message: 'x' }, delaySeconds: 0 }))
    expect([...store.requests.values()].filter((request) => request.state === 'queued' || request.state === 'deferred')).toHaveLength(1)
    expect(store.requests.get(first.requestId)).toMatchObject({ state: 'queued', eventCount: 2 })
    // The deferred id from the 202 says where its event went.
    expect(store.requests.get(deferred.requestId)).toMatchObject({ state: 'discarded', discardReason: expect.stringContaining(first.requestId) })
    expect(store.record).toMatchObject({ state: 'queued', dirty: false })
  })

  it('releases a lease without counting the attempt', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    claim(store, first.requestId, 'L1', 0)
    store.apply(decideRelease(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'a1', now: at(1) }))
    expect(store.requests.get(first.requestId)).toMatchObject({ state: 'queued', attempts: 0 })
    expect(claim(store, first.requestId, 'L2', 2)).toMatchObject({ status: 'claimed' })
  })

  it('extends only a live lease held by the same agent', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    claim(store, first.requestId, 'L1', 0)
    expect(store.apply(decideExtend(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'a1', seconds: 60, now: at(20) }))).toEqual({ status: 'ok', leaseExpiresAt: at(80).toISOString() })
    expect(store.apply(decideExtend(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'other', seconds: 60, now: at(21) }))).toEqual({ status: 'lease_lost' })
    expect(store.apply(decideExtend(store.snapshot(), { requestId: first.requestId, leaseId: 'L1', agentId: 'a1', seconds: 60, now: at(81) }))).toEqual({ status: 'lease_lost' })
  })

  it('ignores messages for finished requests', () => {
    const store = new RecordStore()
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    claim(store, first.requestId, 'L1', 0)
    store.apply(decideFinish(store.snapshot(), { ...common(first.requestId, 'L1', 1), outcome: 'done' }))
    expect(claim(store, first.requestId, 'L2', 2)).toEqual({ status: 'gone' })
    expect(claim(store, 'unknown', 'L3', 2)).toEqual({ status: 'gone' })
  })
})

describe('dead-letter replay', () => {
  function deadLetter(store: RecordStore): string {
    const first = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d1'), now: at(0) }))
    claim(store, first.requestId, 'L1', 0)
    store.apply(decideFinish(store.snapshot(), { ...common(first.requestId, 'L1', 1), outcome: 'fail', error: { message: 'sink down' } }))
    return first.requestId
  }

  it('queues an idle record\'s dead request again with fresh attempts', () => {
    const store = new RecordStore()
    const dead = deadLetter(store)
    const result = store.apply(decideReplay(store.snapshot(), { requestId: dead, now: at(5), by: 'test' }))
    expect(result).toMatchObject({ status: 'requeued' })
    expect(store.requests.get(dead)).toMatchObject({ state: 'queued', attempts: 0 })
    expect(store.record).toMatchObject({ state: 'queued', requestId: dead })
    expect(store.apply(decideReplay(store.snapshot(), { requestId: dead, now: at(6), by: 'test' }))).toMatchObject({ status: 'not_dead', state: 'queued' })
  })

  it('folds the dead request into work already waiting for the record', () => {
    const store = new RecordStore()
    const dead = deadLetter(store)
    const waiting = store.apply(decideEvent(store.snapshot(), { request: spec(), event: event('d2', 2), now: at(2) }))
    const result = store.apply(decideReplay(store.snapshot(), { requestId: dead, now: at(3), by: 'test' }))
    expect(result).toMatchObject({ status: 'folded', intoRequestId: waiting.requestId })
    expect(store.requests.get(dead)).toMatchObject({ state: 'discarded' })
    expect([...store.requests.values()].filter((request) => request.state === 'queued')).toHaveLength(1)
  })

  it('discards a dead letter with a reason', () => {
    const store = new RecordStore()
    const dead = deadLetter(store)
    expect(store.apply(decideDiscard(store.snapshot(), { requestId: dead, reason: 'record deleted upstream', by: 'ops', now: at(4), retentionSeconds: 60 }))).toEqual({ status: 'discarded' })
    expect(store.requests.get(dead)).toMatchObject({ state: 'discarded', discardReason: 'record deleted upstream (by ops)' })
  })
})

import { describe, expect, it } from 'vitest'
import type { RecordMutation, RecordSnapshot } from '../../../lib/ports/ledger.ts'
import { decideClaim, decideFinish, decideRetry } from '../../../lib/relay/record-machine.ts'
import { decideReset, decideTrigger, jobRecordKey, runRequestSpec } from '../../../lib/relay/sync/run-decisions.ts'
import { isBefore, parseWatermark } from '../../../lib/relay/sync/watermark.ts'
import type { SyncRunSpec } from '../../../lib/relay/sync-types.ts'
import type { RecordState, RelayRequest } from '../../../lib/relay/types.ts'

const T0 = Date.parse('2031-03-01T12:00:00.000Z')
const KEY = jobRecordKey('crm', 'contacts')

/** The job's record and its requests, changed only through decide functions (what mutateRecord does). */
function jobStore() {
  let record: RecordState | undefined
  const requests = new Map<string, RelayRequest>()
  let ids = 0
  let seconds = 0
  const now = () => new Date(T0 + seconds * 1000)
  const apply = <T>(decide: (snapshot: RecordSnapshot) => RecordMutation<T>): T => {
    const mutation = decide({ record, requests: new Map(requests) })
    if (mutation.record) record = mutation.record
    for (const request of mutation.requests ?? []) requests.set(request.id, request)
    return mutation.result
  }
  const store = {
    get record() {
      return record
    },
    advance: (by: number) => void (seconds += by),
    trigger: (spec: Partial<SyncRunSpec>) =>
      apply((snapshot) =>
        decideTrigger(snapshot, {
          request: runRequestSpec(`run-${++ids}`, 'crm', 'contacts', { maxAttempts: 3 }),
          event: { deliveryId: `d-${ids}`, receivedAt: now().toISOString(), sync: { mode: 'incremental', trigger: 'admin', ...spec } },
          now: now(),
        }),
      ),
    claim: (requestId: string) => {
      const lease = `lease-${++ids}`
      const result = apply((snapshot) => decideClaim(snapshot, { requestId, leaseId: lease, agentId: 'a', leaseSeconds: 60, now: now(), nextRequestId: `run-${++ids}`, lagSecondsOf: () => 120 }))
      if (result.status !== 'claimed') throw new Error(`not claimed: ${result.status}`)
      return { lease, request: result.request }
    },
    done: (requestId: string, lease: string) =>
      apply((snapshot) => decideFinish(snapshot, { requestId, leaseId: lease, agentId: 'a', now: now(), retentionSeconds: 60, nextRequestId: `run-${++ids}`, outcome: 'done' })),
    retry: (requestId: string, lease: string) =>
      apply((snapshot) => decideRetry(snapshot, { requestId, leaseId: lease, agentId: 'a', now: now(), retentionSeconds: 60, nextRequestId: `run-${++ids}`, error: { message: 'later' }, delaySeconds: 0 })),
    reset: (to: { cursor: string; key: string } | null) => apply((snapshot) => decideReset(snapshot, { request: runRequestSpec(`run-${++ids}`, 'crm', 'contacts', { maxAttempts: 3 }), to, now: now() })),
  }
  return store
}

describe('sync runs: what a run reads', () => {
  it('fixes its bounds at the first lease: the job watermark, until = now minus the lag', () => {
    const store = jobStore()
    store.reset({ cursor: '2031-02-01', key: 'k9' })
    const { requestId } = store.trigger({})
    const { request } = store.claim(requestId)
    expect(request.recordKey).toBe(KEY)
    expect(request.sync).toMatchObject({ job: 'contacts', mode: 'incremental', startWatermark: { cursor: '2031-02-01', key: 'k9' }, until: '2031-03-01T11:58:00.000Z', trigger: 'admin', triggers: 1 })
  })

  it('runs a resend of ids on its own: a trigger of another kind waits for one more run', () => {
    const store = jobStore()
    const first = store.trigger({ ids: ['a', 'b'] })
    expect(store.trigger({ ids: ['b', 'c'] }).outcome).toBe('coalesced')
    expect(store.trigger({ mode: 'full' }).outcome).toBe('coalesced')
    const { request, lease } = store.claim(first.requestId)
    expect(request.sync).toMatchObject({ ids: ['a', 'b', 'c'], mode: 'incremental' })
    expect(request.sync?.until).toBeUndefined()
    const finished = store.done(request.id, lease)
    expect(finished).toMatchObject({ status: 'ok', next: { events: [{ sync: { mode: 'full' } }] } })
    expect(store.claim(finished.status === 'ok' ? finished.next!.id : '').request.sync).toMatchObject({ mode: 'full' })
  })

  it('keeps a trigger that arrives while a started run waits for its retry for one more run', () => {
    const store = jobStore()
    const { requestId } = store.trigger({})
    const first = store.claim(requestId)
    store.retry(requestId, first.lease)
    expect(store.trigger({ ids: ['x'] }).outcome).toBe('deferred')
    const second = store.claim(requestId)
    expect(second.request.sync?.ids).toBeUndefined()
    const finished = store.done(requestId, second.lease)
    expect(finished.status === 'ok' && finished.next?.events.map((event) => event.sync?.ids)).toEqual([['x']])
  })

  it('gives a trigger that a retry folded into a started run back to the record', () => {
    const store = jobStore()
    const { requestId } = store.trigger({})
    const first = store.claim(requestId)
    expect(store.trigger({ mode: 'full' }).outcome).toBe('deferred')
    store.retry(requestId, first.lease) // folds the deferred trigger into the run, as for webhooks
    const second = store.claim(requestId)
    expect(second.request.eventCount).toBe(1)
    expect(store.record).toMatchObject({ dirty: true, pendingEvents: [{ sync: { mode: 'full' } }] })
    const finished = store.done(requestId, second.lease)
    expect(finished.status === 'ok' && finished.next?.events.map((event) => event.sync?.mode)).toEqual(['full'])
  })

  it('refuses a watermark reset while a started run holds the job', () => {
    const store = jobStore()
    const { requestId } = store.trigger({})
    expect(store.reset(null)).toMatchObject({ status: 'reset' })
    store.claim(requestId)
    expect(store.reset({ cursor: 'x', key: '' })).toEqual({ status: 'run_active', requestId })
  })
})

describe('sync runs: watermarks', () => {
  it('orders (cursor, key) by cursor first, and never claims an order between different types', () => {
    expect(isBefore({ cursor: '2031-01-01T00:00:00Z', key: 'b' }, { cursor: '2031-01-01T00:00:00Z', key: 'c' })).toBe(true)
    expect(isBefore({ cursor: 9, key: 'z' }, { cursor: 10, key: 'a' })).toBe(true)
    expect(isBefore({ cursor: 10, key: 1 }, { cursor: 10, key: 1 })).toBe(false)
    expect(isBefore({ cursor: 9, key: 1 }, { cursor: '10', key: 1 })).toBe(false)
  })

  it('parses cursor[,key] from the command line, numbers as numbers, ids with leading zeros as text', () => {
    expect(parseWatermark('2026-01-01T00:00:00Z')).toEqual({ cursor: '2026-01-01T00:00:00Z', key: '' })
    expect(parseWatermark('2026-01-01T00:00:00Z,cus_42')).toEqual({ cursor: '2026-01-01T00:00:00Z', key: 'cus_42' })
    expect(parseWatermark('1700000000,00123')).toEqual({ cursor: 1_700_000_000, key: '00123' })
  })
})

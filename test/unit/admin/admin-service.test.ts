import { afterEach, describe, expect, it } from 'vitest'
import { describeAgents, discardRequest, listRequests, replayDeadLetters, replayRequest, showRequest } from '../../../lib/admin/admin-service.ts'
import { measureBacklog } from '../../../lib/admin/backlog.ts'
import { HookferryError } from '../../../lib/errors.ts'
import { ackLeases } from '../../../lib/relay/agent-service.ts'
import { AGENT, createRelayFixture, type RelayFixture } from './relay-fixture.ts'

// Near the real time: the SQLite ledger expires rows (TTL) by the real clock.
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000
const at = (seconds: number) => new Date(T0 + seconds * 1000)

let fixture: RelayFixture
afterEach(() => fixture?.close())

async function expectHookferryError(promise: Promise<unknown>, code: string, statusCode: number): Promise<void> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught)
  expect(error).toBeInstanceOf(HookferryError)
  expect(error).toMatchObject({ code, statusCode })
}

const list = (query: Parameters<typeof listRequests>[1] extends infer Q ? Partial<Q> : never) => listRequests(fixture.deps, { limit: 100, ...query })

describe('admin: listing requests', () => {
  it('filters by source, state and record id, newest first', async () => {
    fixture = createRelayFixture()
    fixture.setNow(at(0))
    await fixture.deadLetter('crm', 'z')
    fixture.setNow(at(1))
    await fixture.ingest('shop', 'a')
    fixture.setNow(at(2))
    await fixture.ingest('shop', 'b')
    fixture.setNow(at(3))
    await fixture.ingest('crm', 'a')

    expect((await list({})).items.map((request) => `${request.source}/${request.recordId}`)).toEqual(['crm/a', 'shop/b', 'shop/a', 'crm/z'])
    expect((await list({ source: 'shop' })).items.map((request) => request.recordId)).toEqual(['b', 'a'])
    expect((await list({ record: 'a' })).items.map((request) => request.source)).toEqual(['crm', 'shop'])
    expect((await list({ state: 'dead' })).items).toMatchObject([{ source: 'crm', recordId: 'z', state: 'dead', lastError: { code: 'sink.unavailable' }, attempts: 1, maxAttempts: 3 }])
  })

  it('filters by updatedAt range: since inclusive, until exclusive', async () => {
    fixture = createRelayFixture()
    for (const [seconds, id] of [[0, 'r0'], [10, 'r10'], [20, 'r20']] as const) {
      fixture.setNow(at(seconds))
      await fixture.ingest('shop', id)
    }
    const page = await list({ since: at(10).toISOString(), until: at(20).toISOString() })
    expect(page.items.map((request) => request.recordId)).toEqual(['r10'])
  })

  it('pages with a cursor until every request was listed once', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'a', 'b', 'c', 'd', 'e')
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await list({ limit: 2, ...(cursor ? { cursor } : {}) })
      expect(page.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.items.map((request) => request.recordId))
      cursor = page.cursor
    } while (cursor)
    expect(seen.sort()).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('lists summaries without events, history or payload', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'a')
    const [summary] = (await list({})).items
    expect(summary).toMatchObject({ source: 'shop', recordId: 'a', state: 'queued', eventCount: 1, lastEvent: 'customer.updated' })
    expect(summary).not.toHaveProperty('events')
    expect(summary).not.toHaveProperty('history')
    expect(summary).not.toHaveProperty('payload')
  })
})

describe('admin: one request', () => {
  it('shows its events and every attempt with agent, duration, outcome and error', async () => {
    fixture = createRelayFixture()
    fixture.setNow(at(0))
    await fixture.ingest('shop', 'a')
    const [lease] = await fixture.pull(1)
    fixture.setNow(at(2.5))
    await fixture.ack([lease!], 'fail')

    const { request, record } = await showRequest(fixture.deps, lease!.requestId)
    expect(request).toMatchObject({ id: lease!.requestId, state: 'dead', recordKey: 'shop##a', hasPayload: false })
    expect(request.events).toMatchObject([{ event: 'customer.updated', receivedAt: at(0).toISOString() }])
    expect(request.attemptHistory).toEqual([
      expect.objectContaining({ attempt: 1, agentId: AGENT, outcome: 'fail', durationMs: 2500, error: { code: 'sink.unavailable', message: 'connection refused' } }),
    ])
    expect(record).toMatchObject({ state: 'idle', requestId: lease!.requestId, dirty: false, pendingEvents: 0 })
  })

  it('answers 404 request.not_found for an unknown id', async () => {
    fixture = createRelayFixture()
    await expectHookferryError(showRequest(fixture.deps, 'no-such-id'), 'request.not_found', 404)
    await expectHookferryError(replayRequest(fixture.deps, 'no-such-id'), 'request.not_found', 404)
    await expectHookferryError(discardRequest(fixture.deps, 'no-such-id', 'x'), 'request.not_found', 404)
  })
})

describe('admin: replaying and discarding one dead letter', () => {
  it('queues a dead letter again with fresh attempts, and an agent receives it', async () => {
    fixture = createRelayFixture()
    const dead = await fixture.deadLetter('shop', 'a')
    const id = dead.get('a')!
    expect(await replayRequest(fixture.deps, id)).toEqual({ requestId: id, status: 'requeued' })
    expect(await fixture.deps.ledger.getRequest(id)).toMatchObject({ state: 'queued', attempts: 0, sentAt: expect.any(String) })
    const leases = await fixture.pull(5)
    expect(leases.map((grant) => grant.requestId)).toEqual([id])
    expect(leases[0]!.attempt).toBe(1)
  })

  it('folds a dead letter into the work already waiting for the same record (one fetch, not two)', async () => {
    fixture = createRelayFixture()
    const id = (await fixture.deadLetter('shop', 'a')).get('a')!
    await fixture.ingest('shop', 'a')
    const [waiting] = (await list({ state: 'queued' })).items
    expect(await replayRequest(fixture.deps, id)).toEqual({ requestId: id, status: 'folded', intoRequestId: waiting!.id })
    expect(await fixture.deps.ledger.getRequest(id)).toMatchObject({ state: 'discarded', discardReason: expect.stringContaining(waiting!.id) })
    expect(await fixture.deps.ledger.getRequest(waiting!.id)).toMatchObject({ state: 'queued', eventCount: 2 })
    expect((await fixture.pull(5)).map((grant) => grant.requestId)).toEqual([waiting!.id])
  })

  it('refuses (409 request.not_dead) to replay or discard a request that is not dead', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'a')
    const [queued] = (await list({})).items
    await expectHookferryError(replayRequest(fixture.deps, queued!.id), 'request.not_dead', 409)
    await expectHookferryError(discardRequest(fixture.deps, queued!.id, 'not needed'), 'request.not_dead', 409)
  })

  it('discards a dead letter with its reason; it then expires like finished work', async () => {
    fixture = createRelayFixture()
    fixture.setNow(at(0))
    const id = (await fixture.deadLetter('shop', 'a')).get('a')!
    expect(await discardRequest(fixture.deps, id, 'record deleted in the ERP')).toEqual({ requestId: id, status: 'discarded' })
    const discarded = await fixture.deps.ledger.getRequest(id)
    expect(discarded).toMatchObject({ state: 'discarded', discardReason: 'record deleted in the ERP (by admin)', expiresAt: T0 / 1000 + fixture.deps.config.retention.doneSeconds })
    expect((await list({ state: 'dead' })).items).toEqual([])
  })
})

describe('admin: replaying many dead letters', () => {
  it('replays only the dead letters of the given source', async () => {
    fixture = createRelayFixture()
    await fixture.deadLetter('shop', 'a', 'b')
    await fixture.deadLetter('crm', 'c')
    expect(await replayDeadLetters(fixture.deps, { source: 'shop', limit: 100 })).toEqual({ replayed: 2, folded: 0, skipped: 0, failed: 0 })
    expect((await list({ state: 'dead' })).items.map((request) => request.recordId)).toEqual(['c'])
    expect((await fixture.pull(10)).map((grant) => grant.recordId).sort()).toEqual(['a', 'b'])
  })

  it('replays only the dead letters that died inside the time range', async () => {
    fixture = createRelayFixture()
    fixture.setNow(at(0))
    await fixture.deadLetter('shop', 'early')
    fixture.setNow(at(100))
    await fixture.deadLetter('shop', 'middle')
    fixture.setNow(at(200))
    await fixture.deadLetter('shop', 'late')
    fixture.setNow(at(300))
    expect(await replayDeadLetters(fixture.deps, { since: at(50).toISOString(), until: at(150).toISOString(), limit: 100 })).toMatchObject({ replayed: 1 })
    expect((await list({ state: 'dead' })).items.map((request) => request.recordId)).toEqual(['late', 'early'])
  })

  it('stops at the limit with a cursor, and the cursor continues with the rest', async () => {
    fixture = createRelayFixture()
    await fixture.deadLetter('shop', 'a', 'b', 'c', 'd', 'e')
    const first = await replayDeadLetters(fixture.deps, { limit: 3 })
    expect(first).toMatchObject({ replayed: 3, cursor: expect.any(String) })
    const second = await replayDeadLetters(fixture.deps, { limit: 3, cursor: first.cursor! })
    expect(second).toEqual({ replayed: 2, folded: 0, skipped: 0, failed: 0 })
    expect((await fixture.pull(10)).map((grant) => grant.recordId).sort()).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('counts a dead letter that was replayed by someone else meanwhile as skipped', async () => {
    fixture = createRelayFixture()
    await fixture.deadLetter('shop', 'a', 'b')
    const { ledger } = fixture.deps
    // Another operator replays the first dead letter between our listing and our replay.
    const racingList = async (query: Parameters<typeof ledger.listRequests>[0]) => {
      const page = await ledger.listRequests(query)
      if (page.items[0]) await replayRequest(fixture.deps, page.items[0].id)
      return page
    }
    const racing = new Proxy(ledger, {
      get: (target, property, receiver) => {
        if (property === 'listRequests') return racingList
        const value: unknown = Reflect.get(target, property, receiver)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    expect(await replayDeadLetters({ ...fixture.deps, ledger: racing }, { limit: 100 })).toEqual({ replayed: 1, folded: 0, skipped: 1, failed: 0 })
  })

  it('folds two dead letters of one record into one request: one message, one delivery', async () => {
    fixture = createRelayFixture()
    await fixture.deadLetter('shop', 'a')
    await fixture.deadLetter('shop', 'a')
    expect(await replayDeadLetters(fixture.deps, { limit: 100 })).toMatchObject({ replayed: 1, folded: 1 })
    const leases = await fixture.pull(10)
    expect(leases).toHaveLength(1)
    expect(leases[0]!.eventCount).toBe(2)
  })
})

describe('admin: agents and backlog', () => {
  it('counts queued requests, those waiting for a retry time apart, and finds the longest-waiting pullable one', async () => {
    fixture = createRelayFixture()
    fixture.setNow(at(0))
    await fixture.ingest('shop', 'retrying')
    const [lease] = await fixture.pull(1)
    await ackLeases(fixture.deps, AGENT, [{ lease: lease!.lease, outcome: 'retry', delaySeconds: 600, error: { message: 'sink busy' } }])
    fixture.setNow(at(60))
    await fixture.ingest('shop', 'waiting')

    fixture.setNow(at(90))
    const backlog = await measureBacklog(fixture.deps)
    const waiting = (await list({ record: 'waiting' })).items[0]!
    expect(backlog).toEqual({ queued: 2, retrying: 1, oldestWaitingAgeSeconds: 30, oldestWaitingSince: at(60).toISOString(), oldestWaitingRequestId: waiting.id, truncated: false })
  })

  it('counts a retried request as waiting once its retry time has passed, from that time', async () => {
    fixture = createRelayFixture()
    fixture.setNow(at(0))
    await fixture.ingest('shop', 'retrying')
    const [lease] = await fixture.pull(1)
    await ackLeases(fixture.deps, AGENT, [{ lease: lease!.lease, outcome: 'retry', delaySeconds: 30, error: { message: 'sink busy' } }])
    fixture.setNow(at(100))
    expect(await measureBacklog(fixture.deps)).toMatchObject({ queued: 1, retrying: 0, oldestWaitingAgeSeconds: 70, oldestWaitingSince: at(30).toISOString() })
  })

  it('reports the age of the oldest pullable request, not of one waiting for its retry time', async () => {
    fixture = createRelayFixture()
    fixture.setNow(at(0))
    await fixture.ingest('shop', 'old')
    fixture.setNow(at(30))
    await fixture.ingest('shop', 'newer')
    fixture.setNow(at(100))
    const backlog = await measureBacklog(fixture.deps)
    expect(backlog).toMatchObject({ queued: 2, retrying: 0, oldestWaitingAgeSeconds: 100, oldestWaitingSince: at(0).toISOString() })
  })

  it('reports 0 and no request when nothing waits', async () => {
    fixture = createRelayFixture()
    expect(await measureBacklog(fixture.deps)).toEqual({ queued: 0, retrying: 0, oldestWaitingAgeSeconds: 0, truncated: false })
  })

  it('lists each agent with its version, in-flight count and seconds since its last heartbeat', async () => {
    fixture = createRelayFixture()
    await fixture.deps.ledger.recordHeartbeat({ agentId: 'a1', version: '0.1.0', hostname: 'erp-gw', inFlight: 2, lastHeartbeatAt: at(0).toISOString() })
    fixture.setNow(at(42))
    await fixture.ingest('shop', 'x')
    const overview = await describeAgents(fixture.deps)
    expect(overview.agents).toEqual([{ agentId: 'a1', version: '0.1.0', hostname: 'erp-gw', inFlight: 2, lastHeartbeatAt: at(0).toISOString(), silentSeconds: 42 }])
    expect(overview.backlog).toMatchObject({ queued: 1 })
    expect(overview.serverTime).toBe(at(42).toISOString())
  })
})

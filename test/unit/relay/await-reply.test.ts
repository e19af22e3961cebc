import { afterEach, describe, expect, it } from 'vitest'
import { ackLeases } from '../../../lib/relay/agent-service.ts'
import { awaitReply } from '../../../lib/relay/await-reply.ts'
import { ingestWebhook } from '../../../lib/relay/ingest.ts'
import { AGENT, createRelayFixture, type RelayFixture } from '../admin/relay-fixture.ts'

/**
 * Request/reply mode: what the webhook caller is answered while the relay polls the ledger for
 * the agent's outcome (SQLite in memory, real time).
 */
let fixture: RelayFixture
afterEach(() => fixture.close())

const json = { 'content-type': 'application/json' }

async function ingestOne(id: string): Promise<string> {
  const reply = await ingestWebhook(fixture.deps, { source: 'shop', headers: json, query: {}, rawBody: Buffer.from(JSON.stringify({ id, type: 'customer.updated', nonce: Math.random() })) })
  return (JSON.parse(reply.body) as { requests: string[] }).requests[0]!
}

async function eventOf(requestId: string, outcome: 'created' | 'deferred' = 'created') {
  return { requestId, outcome, recordKey: (await fixture.deps.ledger.getRequest(requestId))!.recordKey }
}

describe('awaitReply', () => {
  it('answers 200 with the request id once the agent acked it without a reply, polling until then', async () => {
    fixture = createRelayFixture()
    const requestId = await ingestOne('a')
    const [lease] = await fixture.pull(1)
    setTimeout(() => void fixture.ack([lease!], 'done'), 120)
    const started = Date.now()
    expect(await awaitReply(fixture.deps, await eventOf(requestId), { timeoutMs: 5_000 })).toEqual({ status: 200, headers: json, body: JSON.stringify({ done: true, request: requestId }) })
    expect(Date.now() - started).toBeGreaterThanOrEqual(100)
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('answers 502 with the agent\'s error for a dead-lettered request', async () => {
    fixture = createRelayFixture()
    const ids = await fixture.deadLetter('shop', 'poison')
    expect(await awaitReply(fixture.deps, await eventOf(ids.get('poison')!), { timeoutMs: 1_000 })).toEqual({ status: 502, headers: json, body: JSON.stringify({ error: { code: 'sync.failed', message: 'connection refused' } }) })
  })

  it('follows a deferred event whose request was folded into the retried one, and answers with that one', async () => {
    fixture = createRelayFixture()
    const first = await ingestOne('busy')
    const [lease] = await fixture.pull(1)
    const followUp = await ingestOne('busy')
    expect(followUp).not.toBe(first)
    await ackLeases(fixture.deps, AGENT, [{ lease: lease!.lease, outcome: 'retry', delaySeconds: 0, error: { code: 'sink.unavailable', message: 'down' } }])
    expect(await fixture.deps.ledger.getRequest(followUp)).toMatchObject({ state: 'discarded' })
    // Not deferred: a discarded request is a failure to answer.
    expect(await awaitReply(fixture.deps, await eventOf(followUp), { timeoutMs: 1_000 })).toMatchObject({ status: 502, body: JSON.stringify({ error: { code: 'sync.failed', message: 'the agent could not process the request' } }) })

    const waiting = awaitReply(fixture.deps, await eventOf(followUp, 'deferred'), { timeoutMs: 5_000 })
    const [again] = await fixture.pull(1)
    expect(again!.requestId).toBe(first)
    await fixture.ack([again!], 'done')
    expect(await waiting).toMatchObject({ status: 200, body: JSON.stringify({ done: true, request: first }) })
  })

  it('gives up at the timeout (the caller answers 202), and at once when the server stops', async () => {
    fixture = createRelayFixture()
    const event = await eventOf(await ingestOne('slow'))
    let started = Date.now()
    expect(await awaitReply(fixture.deps, event, { timeoutMs: 130 })).toBeUndefined()
    expect(Date.now() - started).toBeGreaterThanOrEqual(120)
    expect(Date.now() - started).toBeLessThan(600)

    const stop = new AbortController()
    setTimeout(() => stop.abort(), 30)
    started = Date.now()
    expect(await awaitReply({ ...fixture.deps, signal: stop.signal }, event, { timeoutMs: 5_000 })).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(1_000)
  })
})

describe('awaitReply for a request the ledger does not know', () => {
  it('keeps polling until its timeout and then gives up (the caller answers 202)', async () => {
    fixture = createRelayFixture()
    const started = Date.now()
    expect(await awaitReply(fixture.deps, { requestId: 'unknown', outcome: 'deferred', recordKey: 'shop##unknown' }, { timeoutMs: 150 })).toBeUndefined()
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
  })
})

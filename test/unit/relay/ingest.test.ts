import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { StorageUnavailableError } from '../../../lib/errors.ts'
import type { Ledger } from '../../../lib/ports/ledger.ts'
import { ackLeases, pullLeases } from '../../../lib/relay/agent-service.ts'
import type { RelayDeps } from '../../../lib/relay/deps.ts'
import { ingestWebhook, type WebhookInput } from '../../../lib/relay/ingest.ts'
import { recordKeyOf } from '../../../lib/relay/types.ts'
import { signWebhook } from '../../../lib/sources/sign.ts'
import { createRelayFixture, testConfig, type RelayFixture } from '../admin/relay-fixture.ts'

/** POST /hooks/{source} through the relay core on SQLite (in memory): what each answer means. */
const config = testConfig({
  sources: {
    shop: { verify: { scheme: 'github', secrets: ['shop-secret'] }, extract: { recordId: 'body.ids', recordType: 'body.kind', event: 'body.type' }, filter: { exclude: ['internal.*'] } },
    slack: { verify: { scheme: 'slack', secrets: ['slack-secret'] }, extract: { recordId: 'body.event.item' } },
    full: { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id' }, forwardPayload: true },
    reply: { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id' }, mode: 'sync', sync: { timeoutMs: 1_000, headers: ['content-type', 'x-erp-id'] } },
  },
  limits: { maxBodyBytes: 2_000 },
})

let fixture: RelayFixture
afterEach(() => fixture.close())
const setup = () => (fixture = createRelayFixture(config))

const signed = (source: string, body: unknown, headers: Record<string, string> = {}): WebhookInput => {
  const rawBody = Buffer.from(JSON.stringify(body))
  return { source, query: {}, rawBody, headers: { 'content-type': 'application/json', ...signWebhook(config.sources[source]!.verify, rawBody, { now: new Date(), id: randomUUID() }), ...headers } }
}
const unsigned = (source: string, body: unknown): WebhookInput => ({ source, query: {}, rawBody: Buffer.from(JSON.stringify(body)), headers: { 'content-type': 'application/json' } })
const json = (reply: { body: string }) => JSON.parse(reply.body) as Record<string, unknown>

describe('ingestWebhook', () => {
  it('answers 202 with one request per record id of a batched webhook, keyed by record type', async () => {
    const { deps, counts } = setup()
    const reply = await ingestWebhook(deps, signed('shop', { ids: ['a', 'b'], kind: 'order', type: 'order.paid' }))
    expect(reply).toMatchObject({ statusCode: 202, headers: { 'content-type': 'application/json' } })
    const body = json(reply) as { accepted: number; requests: string[] }
    expect(body.accepted).toBe(2)
    expect(new Set(body.requests).size).toBe(2)
    // A later event for a waiting record joins its request.
    const again = json(await ingestWebhook(deps, signed('shop', { ids: ['a'], kind: 'order', type: 'order.paid' }))) as { requests: string[] }
    expect(again).toEqual({ accepted: 1, requests: [body.requests[0]] })
    const first = await deps.ledger.getRequest(body.requests[0]!)
    expect(first).toMatchObject({ source: 'shop', recordId: 'a', recordType: 'order', recordKey: recordKeyOf('shop', 'a', 'order'), state: 'queued', eventCount: 2, maxAttempts: 10, mode: 'async' })
    expect(first?.events[0]).toMatchObject({ event: 'order.paid' })
    expect(first?.sentAt).toBeDefined()
    expect(first?.payload).toBeUndefined()
    expect(Object.fromEntries(counts)).toMatchObject({ WebhookCreated: 2, WebhookCoalesced: 1 })
  })

  it('refuses an unknown source (404), a body over the limit (413) and a bad signature (401)', async () => {
    const { deps } = setup()
    await expect(ingestWebhook(deps, unsigned('nope', {}))).rejects.toMatchObject({ statusCode: 404, code: 'source.unknown' })
    await expect(ingestWebhook(deps, signed('shop', { ids: ['a'], pad: 'x'.repeat(2_000) }))).rejects.toMatchObject({ statusCode: 413, code: 'request.body_too_large' })
    expect((await ingestWebhook(deps, signed('shop', { ids: ['a'], pad: 'x'.repeat(1_900) }))).statusCode).toBe(202)
    await expect(ingestWebhook(deps, { ...signed('shop', { ids: ['a'] }), headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` } })).rejects.toMatchObject({ statusCode: 401 })
    expect((await deps.ledger.listRequests({})).items).toHaveLength(1)
  })

  it('answers a filtered event 200 ignored, and a repeated delivery 200 duplicate, queuing nothing more', async () => {
    const { deps, counts } = setup()
    const ignored = await ingestWebhook(deps, signed('shop', { ids: ['a'], type: 'internal.sync' }))
    expect(ignored.statusCode).toBe(200)
    expect(json(ignored)).toEqual({ ignored: true, reason: 'event "internal.sync" is filtered out by the source\'s filter' })
    const hook = signed('shop', { ids: ['a'], type: 'order.paid' })
    expect((await ingestWebhook(deps, hook)).statusCode).toBe(202)
    const again = await ingestWebhook(deps, hook)
    expect(again.statusCode).toBe(200)
    expect(json(again)).toEqual({ duplicate: true })
    expect((await deps.ledger.listRequests({})).items.map((request) => request.eventCount)).toEqual([1])
    expect(Object.fromEntries(counts)).toMatchObject({ WebhookIgnored: 1, WebhookDuplicate: 1, WebhookCreated: 1 })
  })

  it('answers Slack\'s url_verification with its challenge, queuing nothing', async () => {
    const { deps } = setup()
    const reply = await ingestWebhook(deps, signed('slack', { type: 'url_verification', challenge: 'c-123' }))
    expect(reply).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"challenge":"c-123"}' })
    expect((await deps.ledger.listRequests({})).items).toEqual([])
  })

  it('keeps the body for the agent only where forwardPayload is on', async () => {
    const { deps } = setup()
    const reply = await ingestWebhook(deps, unsigned('full', { id: 'p1', total: 5 }))
    const [requestId] = (json(reply) as { requests: string[] }).requests
    expect((await deps.ledger.getRequest(requestId!))?.payload).toEqual({ id: 'p1', total: 5 })
  })

  it('answers 503 when the ledger cannot be written, and passes the ledger\'s own client errors through', async () => {
    const { deps } = setup()
    const broken = (failure: Error): RelayDeps => ({ ...deps, ledger: { ...deps.ledger, hasDelivery: deps.ledger.hasDelivery.bind(deps.ledger), mutateRecord: () => Promise.reject(failure) } as Ledger })
    await expect(ingestWebhook(broken(new Error('disk full')), signed('shop', { ids: ['a'] }))).rejects.toMatchObject({ statusCode: 503, code: 'storage.unavailable' })
    await expect(ingestWebhook(broken(new StorageUnavailableError('down')), signed('shop', { ids: ['a'] }))).rejects.toMatchObject({ statusCode: 503 })
    const unreadable: RelayDeps = { ...deps, ledger: { ...deps.ledger, hasDelivery: () => Promise.reject(new Error('gone')) } as Ledger }
    await expect(ingestWebhook(unreadable, signed('shop', { ids: ['a'] }))).rejects.toBeInstanceOf(StorageUnavailableError)
  })

  it('still answers 202 when only the bookkeeping after the enqueue fails (sent mark, dedupe mark), and says so', async () => {
    const { deps, logs } = setup()
    const ledger = deps.ledger
    const flaky = {
      mutateRecord: ledger.mutateRecord.bind(ledger),
      hasDelivery: ledger.hasDelivery.bind(ledger),
      getRequest: ledger.getRequest.bind(ledger),
      markSent: () => Promise.reject(new Error('sent mark lost')),
      rememberDelivery: () => Promise.reject(new Error('dedupe mark lost')),
    } as unknown as Ledger
    const reply = await ingestWebhook({ ...deps, ledger: flaky }, signed('shop', { ids: ['a'] }))
    expect(reply.statusCode).toBe(202)
    expect(logs.filter((line) => line.level === 'warn').map((line) => line.message).sort()).toEqual(['could not mark request as sent', 'could not remember delivery id'])
    // The work is queued all the same (the sweep re-sends unmarked requests; duplicates are harmless).
    expect((await pullLeases(deps, 'onprem-1', { max: 1, waitSeconds: 0 })).leases).toHaveLength(1)
  })
})

describe('ingestWebhook in request/reply mode', () => {
  it('answers with the agent\'s reply, passing only the configured headers', async () => {
    const { deps } = setup()
    const waiting = ingestWebhook(deps, unsigned('reply', { id: 'o1' }))
    const { leases } = await pullUntilLeased(deps)
    await ackLeases(deps, 'onprem-1', [{ lease: leases[0]!.lease, outcome: 'done', reply: { status: 201, headers: { 'Content-Type': 'text/plain', 'X-ERP-Id': 'E-1', 'set-cookie': 'no' }, body: 'created E-1' } }])
    expect(await waiting).toEqual({ statusCode: 201, headers: { 'Content-Type': 'text/plain', 'X-ERP-Id': 'E-1' }, body: 'created E-1' })
  })

  it('answers 200 done when the agent finished without a reply, and 502 with the error when it failed', async () => {
    const { deps } = setup()
    const done = ingestWebhook(deps, unsigned('reply', { id: 'o2' }))
    const first = await pullUntilLeased(deps)
    await ackLeases(deps, 'onprem-1', [{ lease: first.leases[0]!.lease, outcome: 'done' }])
    expect(await done).toMatchObject({ statusCode: 200, body: JSON.stringify({ done: true, request: first.leases[0]!.requestId }) })

    const failed = ingestWebhook(deps, unsigned('reply', { id: 'o3' }))
    const second = await pullUntilLeased(deps)
    await ackLeases(deps, 'onprem-1', [{ lease: second.leases[0]!.lease, outcome: 'fail', error: { code: 'erp.rejected', message: 'no such customer' } }])
    const answer = await failed
    expect(answer.statusCode).toBe(502)
    expect(json(answer)).toEqual({ error: { code: 'sync.failed', message: 'no such customer' } })
  })

  it('answers 202 when the agent does not reply in time', async () => {
    const { deps } = setup()
    const started = Date.now()
    const reply = await ingestWebhook(deps, unsigned('reply', { id: 'o4' }))
    expect(reply.statusCode).toBe(202)
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
  })

  it('answers an event that arrived while its record was processed with the follow-up request\'s reply', async () => {
    const { deps } = setup()
    const firstReply = ingestWebhook(deps, unsigned('reply', { id: 'o5' }))
    const first = await pullUntilLeased(deps)
    const secondReply = ingestWebhook(deps, unsigned('reply', { id: 'o5', change: 2 }))
    await deferredBehind(deps, 'o5')
    await ackLeases(deps, 'onprem-1', [{ lease: first.leases[0]!.lease, outcome: 'done', reply: { status: 200, headers: {}, body: 'first' } }])
    expect((await firstReply).body).toBe('first')
    const second = await pullUntilLeased(deps)
    expect(second.leases[0]!.requestId).not.toBe(first.leases[0]!.requestId)
    await ackLeases(deps, 'onprem-1', [{ lease: second.leases[0]!.lease, outcome: 'done', reply: { status: 200, headers: {}, body: 'second' } }])
    expect((await secondReply).body).toBe('second')
  })

  it('answers a deferred event whose events a retry folded into the request in flight with that request\'s reply', async () => {
    const { deps } = setup()
    const firstReply = ingestWebhook(deps, unsigned('reply', { id: 'o6' }))
    const first = await pullUntilLeased(deps)
    const secondReply = ingestWebhook(deps, unsigned('reply', { id: 'o6', change: 2 }))
    await deferredBehind(deps, 'o6')
    await ackLeases(deps, 'onprem-1', [{ lease: first.leases[0]!.lease, outcome: 'retry', delaySeconds: 0, error: { code: 'erp.busy', message: 'try again' } }])
    const retried = await pullUntilLeased(deps)
    expect(retried.leases[0]).toMatchObject({ requestId: first.leases[0]!.requestId, eventCount: 2 })
    await ackLeases(deps, 'onprem-1', [{ lease: retried.leases[0]!.lease, outcome: 'done', reply: { status: 200, headers: {}, body: 'both' } }])
    expect([(await firstReply).body, (await secondReply).body]).toEqual(['both', 'both'])
  })
})

/** Waits until an event for `recordId` of the reply source is deferred behind the request in flight. */
async function deferredBehind(deps: RelayDeps, recordId: string) {
  for (let tries = 0; !(await deps.ledger.getRecord(recordKeyOf('reply', recordId)))?.nextRequestId; tries++) {
    if (tries > 100) throw new Error('the event was never deferred')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Pulls until the pending webhook's request is leased (it is queued a moment after the call). */
async function pullUntilLeased(deps: RelayDeps) {
  for (let tries = 0; tries < 50; tries++) {
    const pulled = await pullLeases(deps, 'onprem-1', { max: 1, waitSeconds: 0 })
    if (pulled.leases.length > 0) return pulled
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('nothing was leased')
}

describe('ingestWebhook: messages, metric dimensions and the storage unit', () => {
  /** The fixture's deps with every metric's dimensions and every log line recorded. */
  const recorded = () => {
    const metrics: { name: string; dimensions?: Record<string, string> }[] = []
    const warnings: { message: string; fields?: Record<string, unknown> }[] = []
    const deps: RelayDeps = {
      ...setup().deps,
      metrics: { count: (name, _value, dimensions) => void metrics.push({ name, ...(dimensions ? { dimensions } : {}) }), gauge() {} },
      log: { debug() {}, info() {}, warn: (message, fields) => void warnings.push({ message, ...(fields ? { fields } : {}) }), error() {} },
    }
    return { deps, metrics, warnings }
  }

  it('says which source is unknown and what the body limit is; a body of exactly the limit is taken', async () => {
    const { deps } = recorded()
    await expect(ingestWebhook(deps, unsigned('nope', {}))).rejects.toMatchObject({ message: 'no source named "nope" is configured' })
    const at = (size: number) => ({ ...unsigned('full', {}), rawBody: Buffer.from(`{"id":"a","pad":"${'x'.repeat(size - 19)}"}`) })
    expect(at(2_000).rawBody).toHaveLength(2_000)
    expect((await ingestWebhook(deps, at(2_000))).statusCode).toBe(202)
    await expect(ingestWebhook(deps, at(2_001))).rejects.toMatchObject({ statusCode: 413, message: 'body is larger than 2000 bytes' })
  })

  it('counts ignored, duplicate and created webhooks per source', async () => {
    const { deps, metrics } = recorded()
    await ingestWebhook(deps, signed('shop', { ids: ['a'], type: 'internal.sync' }))
    const hook = signed('shop', { ids: ['a'], kind: 'order', type: 'order.paid' })
    await ingestWebhook(deps, hook)
    await ingestWebhook(deps, hook)
    expect(metrics).toEqual([
      { name: 'WebhookIgnored', dimensions: { source: 'shop' } },
      { name: 'WebhookCreated', dimensions: { source: 'shop' } },
      { name: 'WebhookDuplicate', dimensions: { source: 'shop' } },
    ])
  })

  it('names an event-less webhook that is filtered out with an empty name', async () => {
    const { deps } = recorded()
    const onlyNamed = testConfig({ sources: { named: { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id', event: 'body.type' }, filter: { include: ['order.*'] } } } })
    const reply = await ingestWebhook({ ...deps, config: onlyNamed }, unsigned('named', { id: 'a' }))
    expect(json(reply)).toEqual({ ignored: true, reason: 'event "" is filtered out by the source\'s filter' })
  })

  it('warns with the source when the dedupe mark cannot be written', async () => {
    const { deps, warnings } = recorded()
    const ledger = new Proxy(deps.ledger, { get: (target, key) => (key === 'rememberDelivery' ? () => Promise.reject(new Error('throttled')) : (Reflect.get(target, key) as (...args: unknown[]) => unknown).bind(target)) })
    expect((await ingestWebhook({ ...deps, ledger }, unsigned('full', { id: 'a' }))).statusCode).toBe(202)
    expect(warnings).toEqual([{ message: 'could not remember delivery id', fields: { source: 'full', error: 'StorageUnavailableError: could not durably record the webhook; retry later' } }])
  })

  it('writes a webhook through its storage unit and answers only once the unit is durable; a failed commit is a 503', async () => {
    const { deps } = recorded()
    const calls: string[] = []
    const tracked = <T extends object>(target: T, name: string): T =>
      new Proxy(target, { get: (real, key) => (typeof Reflect.get(real, key) === 'function' ? (...args: unknown[]) => (calls.push(`${name}.${String(key)}`), (Reflect.get(real, key) as (...a: unknown[]) => unknown).apply(real, args)) : Reflect.get(real, key)) })
    let commit: () => Promise<void> = async () => void calls.push('durable')
    const unitDeps: RelayDeps = { ...deps, storageUnit: () => ({ ledger: tracked(deps.ledger, 'unit.ledger'), queue: tracked(deps.queue, 'unit.queue'), durable: () => commit() }) }
    expect((await ingestWebhook(unitDeps, unsigned('full', { id: 'a' }))).statusCode).toBe(202)
    expect(calls).toEqual(expect.arrayContaining(['unit.ledger.hasDelivery', 'unit.ledger.mutateRecord', 'unit.queue.send', 'unit.ledger.rememberDelivery']))
    expect(calls.at(-1)).toBe('durable')
    commit = () => Promise.reject(new Error('disk full'))
    await expect(ingestWebhook(unitDeps, unsigned('full', { id: 'b' }))).rejects.toBeInstanceOf(StorageUnavailableError)
    // A duplicate's answer waits for the unit too.
    await expect(ingestWebhook(unitDeps, unsigned('full', { id: 'a' }))).rejects.toBeInstanceOf(StorageUnavailableError)
  })
})

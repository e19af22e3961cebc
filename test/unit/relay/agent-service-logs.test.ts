import { afterEach, describe, expect, it } from 'vitest'
import type { Ledger } from '../../../lib/ports/ledger.ts'
import { ackLeases, extendLeases, pullLeases } from '../../../lib/relay/agent-service.ts'
import type { RelayDeps } from '../../../lib/relay/deps.ts'
import { AGENT, createRelayFixture, type RelayFixture } from '../admin/relay-fixture.ts'

/**
 * The agent API's log lines and counters, as an operator reads them (SQLite in memory): what a
 * failed claim, a foreign message, a dead letter and a queue that fails after an ack leave behind.
 */
let fixture: RelayFixture
afterEach(() => fixture.close())

const failingQueueCall = (deps: RelayDeps, call: 'changeVisibility' | 'delete'): RelayDeps => ({ ...deps, queue: { ...deps.queue, [call]: () => Promise.reject(new Error('queue down')) } })

describe('agent service logs and metrics', () => {
  it('logs a claim the ledger could not make with the message id, and grants nothing for it', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'a')
    const real = fixture.deps.ledger
    const ledger = new Proxy(real, {
      get: (target, key) => (key === 'mutateRecord' ? () => Promise.reject(new Error('ledger down')) : (Reflect.get(target, key) as (...args: unknown[]) => unknown).bind(target)),
    }) as Ledger
    expect((await pullLeases({ ...fixture.deps, ledger }, AGENT, { max: 1, waitSeconds: 0 })).leases).toEqual([])
    expect(fixture.logs).toEqual([{ level: 'error', message: 'could not lease a received message', fields: { messageId: expect.any(String), error: 'Error: ledger down' } }])
    expect(fixture.counts.get('LeasesGranted')).toBeUndefined()
  })

  it('removes a queue message it did not write, logging at most 200 characters of it', async () => {
    fixture = createRelayFixture()
    await fixture.deps.queue.send([{ body: 'y'.repeat(300) }])
    expect((await pullLeases(fixture.deps, AGENT, { max: 1, waitSeconds: 0 })).leases).toEqual([])
    expect(fixture.logs).toEqual([{ level: 'error', message: 'removing a queue message hookferry did not write', fields: { messageId: expect.any(String), body: 'y'.repeat(200) } }])
  })

  it('answers a poll as soon as a lease is granted, without waiting out the poll', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'a')
    const started = Date.now()
    expect((await pullLeases(fixture.deps, AGENT, { max: 5, waitSeconds: 3 })).leases).toHaveLength(1)
    expect(Date.now() - started).toBeLessThan(1_500)
  })

  it('logs a dead letter with its source and error, and counts it', async () => {
    fixture = createRelayFixture()
    const ids = await fixture.deadLetter('shop', 'poison')
    expect(fixture.logs).toContainEqual({ level: 'warn', message: 'request dead-lettered', fields: { requestId: ids.get('poison'), source: 'shop', error: 'connection refused' } })
    expect(fixture.counts.get('RequestsDeadLettered')).toBe(1)
  })

  it('counts retries and releases apart, and says when the queue could not follow an ack', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'r', 'l')
    const leases = await fixture.pull(2)
    const [retried, released] = [leases.find((grant) => grant.recordId === 'r')!, leases.find((grant) => grant.recordId === 'l')!]
    const deps = failingQueueCall(fixture.deps, 'changeVisibility')
    const { results } = await ackLeases(deps, AGENT, [
      { lease: retried.lease, outcome: 'retry', delaySeconds: 5, error: { code: 'sink.unavailable', message: 'down' } },
      { lease: released.lease, outcome: 'release', delaySeconds: 5 },
    ])
    expect(results.map((result) => result.status)).toEqual(['ok', 'ok'])
    expect([fixture.counts.get('RequestsRetried'), fixture.counts.get('LeasesReleased')]).toEqual([1, 1])
    const warnings = fixture.logs.filter((line) => line.level === 'warn')
    expect(warnings).toHaveLength(2)
    for (const grant of [retried, released]) {
      expect(warnings).toContainEqual({ level: 'warn', message: 'could not reschedule the message after an ack; the ledger already holds the outcome', fields: { requestId: grant.requestId, error: 'Error: queue down' } })
    }
  })

  it('says when the queue could not delete the message of a finished request, which stays done', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'd')
    const [grant] = await fixture.pull(1)
    expect((await ackLeases(failingQueueCall(fixture.deps, 'delete'), AGENT, [{ lease: grant!.lease, outcome: 'done' }])).results[0]!.status).toBe('ok')
    expect(fixture.logs).toContainEqual({ level: 'warn', message: 'could not delete the message after an ack; the ledger already holds the outcome', fields: { requestId: grant!.requestId, error: 'Error: queue down' } })
    expect(fixture.counts.get('RequestsDone')).toBe(1)
    expect(await fixture.deps.ledger.getRequest(grant!.requestId)).toMatchObject({ state: 'done' })
  })

  it('extends the ledger lease even when the message visibility could not be, and says so', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'e')
    const [grant] = await fixture.pull(1)
    const { results } = await extendLeases(failingQueueCall(fixture.deps, 'changeVisibility'), AGENT, { leases: [{ lease: grant!.lease, seconds: 120 }] })
    expect(results[0]).toMatchObject({ status: 'ok', leaseExpiresAt: new Date(fixture.deps.now().getTime() + 120_000).toISOString() })
    expect(fixture.logs).toEqual([{ level: 'warn', message: 'could not extend the message visibility', fields: { requestId: grant!.requestId, error: 'Error: queue down' } }])
  })
})

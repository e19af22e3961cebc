import { afterEach, describe, expect, it } from 'vitest'
import type { ReceiveOptions, WorkQueue } from '../../../lib/ports/queue.ts'
import { ackLeases, extendLeases, pullLeases, recordHeartbeat } from '../../../lib/relay/agent-service.ts'
import type { RelayDeps } from '../../../lib/relay/deps.ts'
import { decodeLease } from '../../../lib/relay/lease-token.ts'
import { encodeWorkMessage } from '../../../lib/relay/queue-message.ts'
import { AGENT, createRelayFixture, type RelayFixture } from '../admin/relay-fixture.ts'

/**
 * The agent API over the relay core (SQLite in memory): what the queue is told after each ledger
 * decision. The queue is the real one, watched: a message hidden and a message deleted look the
 * same to a pull, so the calls themselves are what shows the difference.
 */
interface QueueCall {
  call: 'receive' | 'delete' | 'changeVisibility' | 'send'
  receipt?: string
  seconds?: number
  options?: ReceiveOptions
  count?: number
}

let fixture: RelayFixture
afterEach(() => fixture.close())

function setup(failing: Partial<Record<'delete' | 'changeVisibility', boolean>> = {}) {
  fixture = createRelayFixture()
  const real = fixture.deps.queue
  const calls: QueueCall[] = []
  const queue: WorkQueue = {
    send: async (entries) => {
      calls.push({ call: 'send', count: entries.length })
      return real.send(entries)
    },
    receive: async (options) => {
      calls.push({ call: 'receive', options })
      return real.receive(options)
    },
    delete: async (receipt) => {
      calls.push({ call: 'delete', receipt })
      if (failing.delete) throw new Error('queue down')
      return real.delete(receipt)
    },
    changeVisibility: async (receipt, seconds) => {
      calls.push({ call: 'changeVisibility', receipt, seconds })
      if (failing.changeVisibility) throw new Error('queue down')
      return real.changeVisibility(receipt, seconds)
    },
  }
  const deps: RelayDeps = { ...fixture.deps, queue }
  let now = Date.now()
  fixture.setNow(new Date(now))
  const advance = (seconds: number) => fixture.setNow(new Date((now += seconds * 1000)))
  /** Calls made after this point (about one message). */
  const since = () => {
    const start = calls.length
    return () => calls.slice(start).filter((call) => call.call !== 'receive')
  }
  return { deps, calls, advance, since, real, fixture }
}

const pull = (deps: RelayDeps, options: { max?: number; waitSeconds?: number; leaseSeconds?: number } = {}) => pullLeases(deps, AGENT, { max: 10, waitSeconds: 0, ...options })

describe('pullLeases', () => {
  it('receives at most `max` messages, hidden for the lease plus a margin, and counts what it granted', async () => {
    const { deps, calls, fixture } = setup()
    await fixture.ingest('shop', 'a', 'b', 'c')
    const { leases } = await pull(deps, { max: 2, leaseSeconds: 30 })
    expect(leases).toHaveLength(2)
    expect(calls.find((call) => call.call === 'receive')?.options).toMatchObject({ maxMessages: 2, visibilitySeconds: 32 })
    expect(leases[0]).toMatchObject({ source: 'shop', attempt: 1, maxAttempts: 3, mode: 'async', event: 'customer.updated', eventCount: 1 })
    expect(Date.parse(leases[0]!.leaseExpiresAt) - Date.parse(fixture.deps.now().toISOString())).toBe(30_000)
    expect(fixture.counts.get('LeasesGranted')).toBe(2)
    // Only what is left is asked for in the same poll.
    expect((await pull(deps, { max: 5 })).leases).toHaveLength(1)
  })

  it('uses the configured lease length when the agent names none', async () => {
    const { deps, calls, fixture } = setup()
    await fixture.ingest('shop', 'a')
    const { leases } = await pull(deps)
    expect(calls.find((call) => call.call === 'receive')?.options).toMatchObject({ visibilitySeconds: deps.config.lease.defaultSeconds + 2 })
    expect(Date.parse(leases[0]!.leaseExpiresAt) - deps.now().getTime()).toBe(deps.config.lease.defaultSeconds * 1000)
  })

  it('deletes a message hookferry did not write, saying so, and a message of finished work', async () => {
    const { deps, since, real, fixture } = setup()
    await real.send([{ body: 'not ours' }])
    let after = since()
    expect((await pull(deps)).leases).toEqual([])
    expect(after()).toMatchObject([{ call: 'delete' }])
    expect(fixture.logs.filter((line) => line.level === 'error').map((line) => [line.message, line.fields?.body])).toEqual([['removing a queue message hookferry did not write', 'not ours']])

    await fixture.ingest('shop', 'a')
    const [grant] = await fixture.pull(1)
    await fixture.ack([grant!], 'done')
    await real.send([{ body: encodeWorkMessage({ requestId: grant!.requestId, recordKey: decodeLease(grant!.lease).recordKey }) }])
    after = since()
    expect((await pull(deps)).leases).toEqual([])
    expect(after()).toMatchObject([{ call: 'delete' }])
  })

  it('hides a duplicate message of leased work until the lease ends', async () => {
    const { deps, since, real, fixture } = setup()
    await fixture.ingest('shop', 'a')
    const { leases } = await pull(deps, { leaseSeconds: 30 })
    await real.send([{ body: encodeWorkMessage({ requestId: leases[0]!.requestId, recordKey: decodeLease(leases[0]!.lease).recordKey }) }])
    const after = since()
    expect((await pull(deps)).leases).toEqual([])
    expect(after()).toMatchObject([{ call: 'changeVisibility', seconds: 31 }])
  })

  it('dead-letters work whose leases kept expiring once the attempts are used up, and sends its follow-up', async () => {
    const { deps, since, advance, real, fixture } = setup()
    await fixture.ingest('shop', 'a')
    let lease = (await pull(deps, { leaseSeconds: 30 })).leases[0]!
    for (let attempt = 2; attempt <= 3; attempt++) {
      await real.changeVisibility(decodeLease(lease.lease).receipt, 0)
      advance(31)
      lease = (await pull(deps, { leaseSeconds: 30 })).leases[0]!
      expect(lease.attempt).toBe(attempt)
    }
    await fixture.ingest('shop', 'a')
    await real.changeVisibility(decodeLease(lease.lease).receipt, 0)
    advance(31)
    const after = since()
    expect((await pull(deps)).leases).toEqual([])
    expect(after().map((call) => call.call)).toEqual(['send', 'delete'])
    expect(await deps.ledger.getRequest(lease.requestId)).toMatchObject({ state: 'dead', lastError: { code: 'lease.expired' } })
    expect(fixture.counts.get('RequestsDeadLettered')).toBe(1)
    expect(fixture.logs.some((line) => line.message === 'request dead-lettered: attempts used up by expired leases')).toBe(true)
    // The event that came during the last lease is the follow-up's, which is leased next.
    expect((await pull(deps)).leases.map((grant) => [grant.recordId, grant.attempt])).toEqual([['a', 1]])
  })

  it('keeps polling within its wait after consuming stale messages only', async () => {
    const { deps, real, fixture } = setup()
    await real.send([{ body: 'stale' }])
    const started = Date.now()
    setTimeout(() => void fixture.ingest('shop', 'late'), 300)
    const { leases } = await pull(deps, { waitSeconds: 3 })
    expect(leases.map((grant) => grant.recordId)).toEqual(['late'])
    expect(Date.now() - started).toBeLessThan(2_500)
  })

  it('logs a message it could not lease and grants the others', async () => {
    const { deps, fixture } = setup()
    await fixture.ingest('shop', 'a', 'b')
    const broken: RelayDeps = {
      ...deps,
      ledger: { ...deps.ledger, mutateRecord: (key, ids, decide) => (key.endsWith('#a') ? Promise.reject(new Error('ledger hiccup')) : deps.ledger.mutateRecord(key, ids, decide)) } as RelayDeps['ledger'],
    }
    const { leases } = await pull(broken)
    expect(leases.map((grant) => grant.recordId)).toEqual(['b'])
    expect(fixture.logs.filter((line) => line.message === 'could not lease a received message')).toHaveLength(1)
  })
})

describe('ackLeases', () => {
  it('reschedules a retry without a delay by backoff (base 2 s, attempt 1, random 0.5: 1 s)', async () => {
    const { deps, since, fixture } = setup()
    await fixture.ingest('shop', 'a')
    const [grant] = (await pull(deps)).leases
    const after = since()
    const { results } = await ackLeases(deps, AGENT, [{ lease: grant!.lease, outcome: 'retry', error: { code: 'sink.down', message: 'refused' } }])
    expect(results).toEqual([{ lease: grant!.lease, requestId: grant!.requestId, status: 'ok', nextAttemptAt: new Date(deps.now().getTime() + 1_000).toISOString() }])
    expect(after()).toEqual([{ call: 'changeVisibility', receipt: decodeLease(grant!.lease).receipt, seconds: 1 }])
    expect(fixture.counts.get('RequestsRetried')).toBe(1)
  })

  it('gives a released lease back at once without counting the attempt', async () => {
    const { deps, since, fixture } = setup()
    await fixture.ingest('shop', 'a')
    const [grant] = (await pull(deps)).leases
    const after = since()
    expect((await ackLeases(deps, AGENT, [{ lease: grant!.lease, outcome: 'release' }])).results[0]).toMatchObject({ status: 'ok' })
    expect(after()).toEqual([{ call: 'changeVisibility', receipt: decodeLease(grant!.lease).receipt, seconds: 0 }])
    expect(fixture.counts.get('LeasesReleased')).toBe(1)
    expect((await pull(deps)).leases[0]).toMatchObject({ requestId: grant!.requestId, attempt: 1 })
  })

  it('deletes the message of finished work and logs a dead letter with its error', async () => {
    const { deps, since, fixture } = setup()
    await fixture.ingest('shop', 'a', 'b')
    const [first, second] = (await pull(deps)).leases
    const after = since()
    const { results } = await ackLeases(deps, AGENT, [
      { lease: first!.lease, outcome: 'done' },
      { lease: second!.lease, outcome: 'fail', error: { code: 'sink.rejected', message: 'bad record' } },
    ])
    expect(results.map((result) => result.status)).toEqual(['ok', 'dead_lettered'])
    expect(after().map((call) => [call.call, call.receipt])).toEqual([
      ['delete', decodeLease(first!.lease).receipt],
      ['delete', decodeLease(second!.lease).receipt],
    ])
    expect(Object.fromEntries(fixture.counts)).toMatchObject({ RequestsDone: 1, RequestsDeadLettered: 1 })
    expect(fixture.logs.find((line) => line.message === 'request dead-lettered')?.fields).toEqual({ requestId: second!.requestId, source: 'shop', error: 'bad record' })
  })

  it('still reports the outcome when the queue cannot follow the ledger, saying so', async () => {
    const { deps, fixture } = setup({ delete: true, changeVisibility: true })
    await fixture.ingest('shop', 'a', 'b')
    const [first, second] = (await pull(deps)).leases
    const { results } = await ackLeases(deps, AGENT, [
      { lease: first!.lease, outcome: 'done' },
      { lease: second!.lease, outcome: 'retry', delaySeconds: 5, error: { message: 'later' } },
    ])
    expect(results.map((result) => result.status)).toEqual(['ok', 'ok'])
    expect(fixture.logs.filter((line) => line.level === 'warn').map((line) => line.message).sort()).toEqual([
      'could not delete the message after an ack; the ledger already holds the outcome',
      'could not reschedule the message after an ack; the ledger already holds the outcome',
    ])
    expect(await deps.ledger.getRequest(first!.requestId)).toMatchObject({ state: 'done' })
  })

  it('answers invalid_lease for a token it did not issue', async () => {
    const { deps } = setup()
    expect((await ackLeases(deps, AGENT, [{ lease: 'nope', outcome: 'done' }])).results).toEqual([{ lease: 'nope', status: 'invalid_lease' }])
  })
})

describe('extendLeases', () => {
  it('moves the lease and hides the message as long, plus the margin', async () => {
    const { deps, since, advance, fixture } = setup()
    await fixture.ingest('shop', 'a')
    const [grant] = (await pull(deps, { leaseSeconds: 30 })).leases
    advance(20)
    const after = since()
    const { results } = await extendLeases(deps, AGENT, { leases: [{ lease: grant!.lease, seconds: 60 }, { lease: 'nope', seconds: 60 }] })
    expect(results).toEqual([
      { lease: grant!.lease, status: 'ok', leaseExpiresAt: new Date(deps.now().getTime() + 60_000).toISOString() },
      { lease: 'nope', status: 'invalid_lease' },
    ])
    expect(after()).toEqual([{ call: 'changeVisibility', receipt: decodeLease(grant!.lease).receipt, seconds: 62 }])
    expect((await deps.ledger.getRequest(grant!.requestId))?.lease?.expiresAt).toBe(results[0]!.leaseExpiresAt)
  })

  it('keeps the longer ledger lease when the queue cannot follow, and refuses a lease that is gone', async () => {
    const { deps, fixture } = setup({ changeVisibility: true })
    await fixture.ingest('shop', 'a')
    const [grant] = (await pull(deps)).leases
    expect((await extendLeases(deps, AGENT, { leases: [{ lease: grant!.lease, seconds: 90 }] })).results[0]).toMatchObject({ status: 'ok' })
    expect(fixture.logs.filter((line) => line.message === 'could not extend the message visibility')).toHaveLength(1)
    expect((await extendLeases(deps, 'someone-else', { leases: [{ lease: grant!.lease, seconds: 90 }] })).results[0]).toEqual({ lease: grant!.lease, status: 'lease_lost' })
  })
})

describe('recordHeartbeat', () => {
  it('stores the agent\'s status at the server\'s time, with its hostname and open breakers when it has them', async () => {
    const { deps } = setup()
    const serverTime = deps.now().toISOString()
    expect(await recordHeartbeat(deps, 'a1', { version: '1.2.3', inFlight: 2, breakers: [] })).toEqual({ agentId: 'a1', serverTime })
    const breakers = [{ name: 'sink crm', state: 'open' as const, held: 3 }]
    await recordHeartbeat(deps, 'a2', { version: '1.2.3', inFlight: 0, hostname: 'edge-2', breakers })
    const agents = (await deps.ledger.listAgents()).sort((a, b) => a.agentId.localeCompare(b.agentId))
    expect(agents).toEqual([
      { agentId: 'a1', version: '1.2.3', inFlight: 2, lastHeartbeatAt: serverTime },
      { agentId: 'a2', version: '1.2.3', inFlight: 0, hostname: 'edge-2', lastHeartbeatAt: serverTime, breakers },
    ])
  })
})

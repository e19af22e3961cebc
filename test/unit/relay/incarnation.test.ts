import { afterEach, describe, expect, it } from 'vitest'
import type { Ledger } from '../../../lib/ports/ledger.ts'
import type { LeaseGrant } from '../../../lib/relay/agent-api.ts'
import { ackLeases, pullLeases } from '../../../lib/relay/agent-service.ts'
import type { RelayDeps } from '../../../lib/relay/deps.ts'
import { takeOverEarlierIncarnations } from '../../../lib/relay/incarnation.ts'
import { AGENT, createRelayFixture, type RelayFixture } from '../admin/relay-fixture.ts'

/**
 * A restarted agent's first pull takes back what its earlier processes still hold (SQLite in
 * memory): which leases go back to the queue, what their history says, the wake-up each gets,
 * and what is left alone.
 */
let fixture: RelayFixture
afterEach(() => fixture.close())

const OLD = '1000-old'
const NEW = '2000-new'

/** One process of the agent pulling every lease it can, as that incarnation (none: an older agent). */
async function pullAs(deps: RelayDeps, incarnation: string | undefined, agentId = AGENT): Promise<LeaseGrant[]> {
  const { leases } = await pullLeases(deps, agentId, { max: 10, waitSeconds: 0, leaseSeconds: 300, ...(incarnation ? { incarnation } : {}) })
  return leases
}

/** The real ledger, but listing through `listRequests`. */
function withListRequests(real: Ledger, listRequests: Ledger['listRequests']): Ledger {
  return new Proxy(real, { get: (target, key) => (key === 'listRequests' ? listRequests : (Reflect.get(target, key) as unknown as (...args: unknown[]) => unknown).bind(target)) })
}

const takenOver = { outcome: 'lease_expired', error: { code: 'lease.taken_over', message: 'the agent restarted: the lease of its previous process was taken back' } }

describe('takeOverEarlierIncarnations', () => {
  it('requeues the leases of the earlier process and of an agent that named no incarnation, each with a confirmed wake-up', async () => {
    fixture = createRelayFixture()
    const { deps } = fixture
    await fixture.ingest('shop', 'a', 'b')
    const old = await pullAs(deps, OLD)
    await fixture.ingest('shop', 'c')
    const unnamed = await pullAs(deps, undefined)
    expect([old.length, unnamed.length]).toEqual([2, 1])

    expect(await takeOverEarlierIncarnations(deps, AGENT, NEW)).toBe(3)
    for (const grant of [...old, ...unnamed]) {
      const request = (await deps.ledger.getRequest(grant.requestId))!
      expect(request).toMatchObject({ state: 'queued', sentAt: deps.now().toISOString(), history: [expect.objectContaining(takenOver)] })
      expect(request.lease).toBeUndefined()
    }
    expect(fixture.logs).toContainEqual({ level: 'info', message: 'a restarted agent took back the leases of its previous process', fields: { agentId: AGENT, taken: 3 } })
    // The wake-ups are in the queue: the new process gets all three at once.
    const again = await pullAs(deps, NEW)
    expect(again.map((grant) => grant.requestId).sort()).toEqual([...old, ...unnamed].map((grant) => grant.requestId).sort())
    expect(again.every((grant) => grant.attempt === 2)).toBe(true)
  })

  it('leaves alone the leases of other agents, of a process started at the same time and of a newer one', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'other')
    const [other] = await pullAs(fixture.deps, '1000-theirs', 'other-agent')
    await fixture.ingest('shop', 'newer')
    const [newer] = await pullAs(fixture.deps, '3000-newer')
    await fixture.ingest('shop', 'same')
    const [same] = await pullAs(fixture.deps, '2000-twin')
    // Another relay instance (a second Lambda) has not seen this agent yet: it looks at every lease.
    const deps: RelayDeps = { ...fixture.deps, ledger: withListRequests(fixture.deps.ledger, (query) => fixture.deps.ledger.listRequests(query)) }

    expect(await takeOverEarlierIncarnations(deps, AGENT, NEW)).toBe(0)
    for (const grant of [other!, same!, newer!]) {
      const request = (await deps.ledger.getRequest(grant.requestId))!
      expect(request).toMatchObject({ state: 'leased', lease: { agentId: grant === other ? 'other-agent' : AGENT } })
      expect(request.history.map((entry) => entry.outcome)).toEqual([undefined])
    }
    expect(fixture.logs.filter((line) => line.level === 'info')).toEqual([])
    expect(await takeOverEarlierIncarnations(deps, AGENT, undefined)).toBe(0)
  })

  it('runs once per restart: a lease the old process takes afterwards is not taken back by the same incarnation again', async () => {
    fixture = createRelayFixture()
    const { deps } = fixture
    await fixture.ingest('shop', 'first')
    await pullAs(deps, OLD)
    expect(await takeOverEarlierIncarnations(deps, AGENT, NEW)).toBe(1)
    await pullAs(deps, NEW)
    // The old process is still alive and pulls once more (its own takeover finds nothing newer to take).
    await fixture.ingest('shop', 'late')
    const [late] = await pullAs(deps, OLD)
    expect(late).toMatchObject({ recordId: 'late' })
    expect(await takeOverEarlierIncarnations(deps, AGENT, NEW)).toBe(0)
    expect(await deps.ledger.getRequest(late!.requestId)).toMatchObject({ state: 'leased', lease: { incarnation: OLD } })
    // The next restart takes it back.
    expect(await takeOverEarlierIncarnations(deps, AGENT, '3000-next')).toBe(2)
    expect(await deps.ledger.getRequest(late!.requestId)).toMatchObject({ state: 'queued', history: [expect.objectContaining(takenOver)] })
  })

  it('pages through the leased requests when the ledger answers in short pages', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'p1', 'p2', 'p3')
    const old = await pullAs(fixture.deps, OLD)
    const real = fixture.deps.ledger
    const cursors: (string | undefined)[] = []
    // A ledger may end a page early with a cursor (DynamoDB does at 1 MB): one item a page here.
    const paging = withListRequests(real, (query) => {
      cursors.push(query.cursor)
      return real.listRequests({ ...query, limit: 1 })
    })
    const deps: RelayDeps = { ...fixture.deps, ledger: paging }
    expect(await takeOverEarlierIncarnations(deps, AGENT, NEW)).toBe(3)
    expect(cursors[0]).toBeUndefined()
    expect(cursors.slice(1).every((cursor) => typeof cursor === 'string')).toBe(true)
    for (const grant of old) expect(await real.getRequest(grant.requestId)).toMatchObject({ state: 'queued' })
  })

  it('does not count a lease that was acked between the listing and the takeover', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'acked', 'held')
    const old = await pullAs(fixture.deps, OLD)
    const acked = old.find((grant) => grant.recordId === 'acked')!
    const held = old.find((grant) => grant.recordId === 'held')!
    const real = fixture.deps.ledger
    const racing = withListRequests(real, async (query) => {
      const page = await real.listRequests(query)
      // The old process's ack lands after the listing.
      await ackLeases(fixture.deps, AGENT, [{ lease: acked.lease, outcome: 'done' }])
      return page
    })
    const deps: RelayDeps = { ...fixture.deps, ledger: racing }
    expect(await takeOverEarlierIncarnations(deps, AGENT, NEW)).toBe(1)
    expect(await real.getRequest(acked.requestId)).toMatchObject({ state: 'done' })
    expect(await real.getRequest(held.requestId)).toMatchObject({ state: 'queued' })
    // Only the taken-back one got a wake-up.
    expect((await pullAs(fixture.deps, NEW)).map((grant) => grant.recordId)).toEqual(['held'])
  })

  it('leaves a lease it could not send a wake-up for unsent, for the repair sweep, and says so', async () => {
    fixture = createRelayFixture()
    await fixture.ingest('shop', 'unsent')
    const [old] = await pullAs(fixture.deps, OLD)
    const queue = { ...fixture.deps.queue, send: () => Promise.reject(new Error('queue down')) }
    const deps: RelayDeps = { ...fixture.deps, queue }
    expect(await takeOverEarlierIncarnations(deps, AGENT, NEW)).toBe(1)
    const request = (await fixture.deps.ledger.getRequest(old!.requestId))!
    expect(request).toMatchObject({ state: 'queued', history: [expect.objectContaining(takenOver)] })
    expect(request.sentAt).toBeUndefined()
    expect(fixture.logs).toContainEqual({ level: 'warn', message: 'could not send the wake-up for a taken-back lease; the repair sweep will', fields: { requestId: old!.requestId, error: expect.stringContaining('StorageUnavailableError') } })
  })
})

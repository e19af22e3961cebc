import { describe, expect, test } from 'vitest'
import { StorageUnavailableError } from '../../lib/errors.ts'
import type { Ledger, RecordSnapshot, RequestQuery } from '../../lib/ports/ledger.ts'
import { InvalidRequestQueryError } from '../../lib/ports/ledger-query.ts'
import type { RelayRequest } from '../../lib/relay/types.ts'
import { type LedgerHarness, ledgerFamilies } from './ledger-families.ts'
import { at, makeRecord, makeRequest } from './ledger-fixtures.ts'

const KEY = makeRecord().recordKey

/** Writes requests as they are (each under its own record key). */
async function seed(ledger: Ledger, requests: RelayRequest[]): Promise<void> {
  for (const request of requests) await ledger.mutateRecord(`seed#${request.id}`, [], () => ({ requests: [request], result: undefined }))
}

/** Walks every page of a query. */
async function listAll(ledger: Ledger, query: RequestQuery): Promise<{ ids: string[]; pageSizes: number[] }> {
  const ids: string[] = []
  const pageSizes: number[] = []
  let cursor: string | undefined
  do {
    const page = await ledger.listRequests({ ...query, cursor })
    ids.push(...page.items.map((item) => item.id))
    pageSizes.push(page.items.length)
    cursor = page.cursor
  } while (cursor !== undefined)
  return { ids, pageSizes }
}

const ids = (requests: RelayRequest[]) => requests.map((request) => request.id)

describe.concurrent.each(ledgerFamilies)('ledger contract: $name', (family) => {
  const it = test.extend<{ harness: LedgerHarness; ledger: Ledger }>({
    // eslint-disable-next-line no-empty-pattern
    harness: async ({}, use) => {
      const harness = await family.create()
      await use(harness)
      await harness.close()
    },
    ledger: async ({ harness }, use) => use(harness.ledger),
  })

  describe('mutateRecord', () => {
    it('creates a record and its request in one mutation and reads both back', async ({ ledger }) => {
      const result = await ledger.mutateRecord(KEY, ['r1'], (snapshot) => {
        expect(snapshot.record).toBeUndefined()
        expect(snapshot.requests.size).toBe(0)
        return { record: makeRecord(), requests: [makeRequest({ id: 'r1' })], result: 'created' }
      })
      expect(result).toBe('created')
      expect(await ledger.getRecord(KEY)).toEqual({ ...makeRecord(), rev: 1 })
      expect(await ledger.getRequest('r1')).toEqual({ ...makeRequest({ id: 'r1' }), rev: 1 })
    })

    it('hands decide the current request of the record and every existing id asked for', async ({ ledger }) => {
      await ledger.mutateRecord(KEY, [], () => ({
        record: makeRecord({ requestId: 'r1' }),
        requests: [makeRequest({ id: 'r1' }), makeRequest({ id: 'r2', state: 'done' })],
        result: undefined,
      }))
      let seen: RecordSnapshot | undefined
      await ledger.mutateRecord(KEY, ['r2', 'missing'], (snapshot) => {
        seen = snapshot
        return { result: undefined }
      })
      expect(seen?.record).toMatchObject({ requestId: 'r1', rev: 1 })
      expect([...(seen?.requests.keys() ?? [])].sort()).toEqual(['r1', 'r2'])
      expect(seen?.requests.get('r2')).toMatchObject({ state: 'done', rev: 1 })
    })

    it('sets rev itself on every write, whatever decide put there', async ({ ledger }) => {
      await ledger.mutateRecord(KEY, [], () => ({ record: makeRecord({ rev: 99 }), requests: [makeRequest({ id: 'r1', rev: 42 })], result: undefined }))
      await ledger.mutateRecord(KEY, [], ({ record, requests }) => ({
        record: { ...record!, state: 'processing' },
        requests: [{ ...requests.get('r1')!, state: 'leased' }],
        result: undefined,
      }))
      expect(await ledger.getRecord(KEY)).toMatchObject({ state: 'processing', rev: 2 })
      expect(await ledger.getRequest('r1')).toMatchObject({ state: 'leased', rev: 2 })
    })

    it('writes nothing when decide returns neither a record nor requests', async ({ ledger }) => {
      expect(await ledger.mutateRecord(KEY, ['r1'], () => ({ result: 'nothing to do' }))).toBe('nothing to do')
      expect(await ledger.getRecord(KEY)).toBeUndefined()
      expect((await ledger.listRequests({})).items).toEqual([])
    })

    it('rejects with the error decide throws, and writes nothing', async ({ ledger }) => {
      const refused = new Error('refused by decide')
      await expect(ledger.mutateRecord(KEY, [], () => { throw refused })).rejects.toBe(refused)
      expect(await ledger.getRecord(KEY)).toBeUndefined()
    })

    it('lands 20 concurrent updates of one record exactly once each (losers of a race decide again)', async ({ ledger }) => {
      await ledger.mutateRecord(KEY, [], () => ({ record: makeRecord(), requests: [makeRequest({ id: 'r1', events: [], eventCount: 0 })], result: undefined }))
      const updates = Array.from({ length: 20 }, (_, index) =>
        ledger.mutateRecord(KEY, [], ({ record, requests }) => {
          const request = requests.get(record!.requestId!)!
          const event = { deliveryId: `d${index}`, receivedAt: at(index) }
          return { requests: [{ ...request, eventCount: request.eventCount + 1, events: [...request.events, event] }], result: index }
        }),
      )
      expect((await Promise.all(updates)).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, index) => index))
      const request = await ledger.getRequest('r1')
      expect(request?.eventCount).toBe(20)
      expect(request?.rev).toBe(21)
      expect(request?.events.map((event) => event.deliveryId).sort()).toEqual(Array.from({ length: 20 }, (_, index) => `d${index}`).sort())
    })
  })

  describe('markSent', () => {
    it('marks a queued request once, keeping the rest and bumping rev', async ({ ledger }) => {
      await ledger.mutateRecord(makeRecord().recordKey, [], () => ({ record: makeRecord(), requests: [makeRequest({ id: 'r1' })], result: null }))
      expect(await ledger.markSent('r1', at(1))).toBe(true)
      expect(await ledger.getRequest('r1')).toMatchObject({ state: 'queued', sentAt: at(1), rev: 2, eventCount: 1 })
      expect(await ledger.markSent('r1', at(2))).toBe(false)
      expect((await ledger.getRequest('r1'))?.sentAt).toBe(at(1))
    })

    it('leaves a request that is no longer queued, and an unknown one, alone', async ({ ledger }) => {
      await ledger.mutateRecord(makeRecord().recordKey, [], () => ({ record: makeRecord(), requests: [makeRequest({ id: 'r1', state: 'done' })], result: null }))
      expect(await ledger.markSent('r1', at(1))).toBe(false)
      expect((await ledger.getRequest('r1'))?.sentAt).toBeUndefined()
      expect(await ledger.markSent('nope', at(1))).toBe(false)
    })

    it('is never lost to a concurrent mutateRecord of the same request, nor loses its update', async ({ ledger }) => {
      const key = makeRecord().recordKey
      await ledger.mutateRecord(key, [], () => ({ record: makeRecord(), requests: [makeRequest({ id: 'r1' })], result: null }))
      const [marked] = await Promise.all([
        ledger.markSent('r1', at(1)),
        ...Array.from({ length: 5 }, () =>
          ledger.mutateRecord(key, ['r1'], (snapshot) => {
            const request = snapshot.requests.get('r1')!
            return { requests: [{ ...request, eventCount: request.eventCount + 1 }], result: null }
          }),
        ),
      ])
      expect(marked).toBe(true)
      expect(await ledger.getRequest('r1')).toMatchObject({ sentAt: at(1), eventCount: 6, rev: 7 })
    })
  })

  it('answers undefined for an unknown request or record', async ({ ledger }) => {
    expect(await ledger.getRequest('nope')).toBeUndefined()
    expect(await ledger.getRecord('shop##nope')).toBeUndefined()
  })

  describe('listRequests', () => {
    const requests = [
      makeRequest({ id: 'a', state: 'queued', source: 'shop', recordId: '1', updatedAt: at(1) }),
      makeRequest({ id: 'b', state: 'queued', source: 'shop', recordId: '2', updatedAt: at(2) }),
      makeRequest({ id: 'c', state: 'done', source: 'shop', recordId: '1', updatedAt: at(3) }),
      makeRequest({ id: 'd', state: 'dead', source: 'crm', recordId: '1', updatedAt: at(4) }),
      makeRequest({ id: 'e', state: 'queued', source: 'crm', recordId: '3', updatedAt: at(5) }),
      makeRequest({ id: 'f', state: 'done', source: 'shop', recordId: '2', updatedAt: at(6) }),
    ]

    it('lists by state, newest first', async ({ ledger }) => {
      await seed(ledger, requests)
      expect(ids((await ledger.listRequests({ state: 'queued' })).items)).toEqual(['e', 'b', 'a'])
      expect(ids((await ledger.listRequests({ state: 'leased' })).items)).toEqual([])
    })

    it('lists across all states, newest first', async ({ ledger }) => {
      await seed(ledger, requests)
      expect(ids((await ledger.listRequests({})).items)).toEqual(['f', 'e', 'd', 'c', 'b', 'a'])
    })

    it('filters by source and by record id, with or without a state', async ({ ledger }) => {
      await seed(ledger, requests)
      expect(ids((await ledger.listRequests({ state: 'queued', source: 'shop' })).items)).toEqual(['b', 'a'])
      expect(ids((await ledger.listRequests({ recordId: '1' })).items)).toEqual(['d', 'c', 'a'])
      expect(ids((await ledger.listRequests({ source: 'shop', recordId: '2' })).items)).toEqual(['f', 'b'])
    })

    it('filters by a time range on updatedAt, since inclusive and until exclusive', async ({ ledger }) => {
      await seed(ledger, requests)
      expect(ids((await ledger.listRequests({ since: at(2), until: at(5) })).items)).toEqual(['d', 'c', 'b'])
      expect(ids((await ledger.listRequests({ state: 'queued', since: at(2) })).items)).toEqual(['e', 'b'])
      expect(ids((await ledger.listRequests({ state: 'queued', until: at(5) })).items)).toEqual(['b', 'a'])
    })

    it('pages with a cursor, each item once, newest first', async ({ ledger }) => {
      await seed(ledger, requests)
      const first = await ledger.listRequests({ limit: 2 })
      expect(ids(first.items)).toEqual(['f', 'e'])
      expect(first.cursor).toBeDefined()
      const all = await listAll(ledger, { limit: 2 })
      expect(all.ids).toEqual(['f', 'e', 'd', 'c', 'b', 'a'])
      expect(Math.max(...all.pageSizes)).toBe(2)
      expect((await listAll(ledger, { state: 'queued', source: 'shop', limit: 1 })).ids).toEqual(['b', 'a'])
    })

    it('rejects a cursor it did not make and a limit out of range', async ({ ledger }) => {
      await expect(ledger.listRequests({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidRequestQueryError)
      await expect(ledger.listRequests({ limit: 0 })).rejects.toBeInstanceOf(InvalidRequestQueryError)
    })
  })

  describe('delivery dedupe', () => {
    it('remembers a delivery id of a source until its window ends', async ({ harness, ledger }) => {
      await ledger.rememberDelivery('shop', 'evt-1', 60)
      expect(await ledger.hasDelivery('shop', 'evt-1')).toBe(true)
      expect(await ledger.hasDelivery('crm', 'evt-1')).toBe(false)
      expect(await ledger.hasDelivery('shop', 'evt-2')).toBe(false)
      harness.clock.advance(61)
      expect(await ledger.hasDelivery('shop', 'evt-1')).toBe(false)
    })
  })

  describe('agents', () => {
    it('lists every agent with its latest heartbeat', async ({ ledger }) => {
      await ledger.recordHeartbeat({ agentId: 'a1', version: '1.0.0', inFlight: 3, lastHeartbeatAt: at(0) })
      await ledger.recordHeartbeat({ agentId: 'a2', version: '1.0.0', hostname: 'edge-2', inFlight: 0, lastHeartbeatAt: at(1) })
      await ledger.recordHeartbeat({ agentId: 'a1', version: '1.1.0', inFlight: 1, lastHeartbeatAt: at(2) })
      const agents = (await ledger.listAgents()).sort((a, b) => a.agentId.localeCompare(b.agentId))
      expect(agents).toEqual([
        { agentId: 'a1', version: '1.1.0', inFlight: 1, lastHeartbeatAt: at(2) },
        { agentId: 'a2', version: '1.0.0', hostname: 'edge-2', inFlight: 0, lastHeartbeatAt: at(1) },
      ])
    })
  })

  describe('expiry', () => {
    const inAMinute = (harness: LedgerHarness) => Math.floor(harness.clock.now().getTime() / 1000) + 60

    it('treats a record and request past expiresAt as gone, and lets the record start afresh', async ({ harness, ledger }) => {
      const expiresAt = inAMinute(harness)
      await ledger.mutateRecord(KEY, [], () => ({
        record: makeRecord({ state: 'idle', expiresAt }),
        requests: [makeRequest({ id: 'r1', state: 'done', expiresAt })],
        result: undefined,
      }))
      expect(await ledger.getRequest('r1')).toBeDefined()
      harness.clock.advance(60)
      expect(await ledger.getRecord(KEY)).toBeUndefined()
      expect(await ledger.getRequest('r1')).toBeUndefined()
      expect((await ledger.listRequests({})).items).toEqual([])
      expect((await ledger.listRequests({ state: 'done' })).items).toEqual([])

      await ledger.mutateRecord(KEY, ['r1'], (snapshot) => {
        expect(snapshot).toEqual({ record: undefined, requests: new Map() })
        return { record: makeRecord({ requestId: 'r2' }), requests: [makeRequest({ id: 'r2' })], result: undefined }
      })
      expect(await ledger.getRecord(KEY)).toMatchObject({ state: 'queued', requestId: 'r2' })
      expect(ids((await ledger.listRequests({})).items)).toEqual(['r2'])
    })

    it('keeps what has no expiresAt (dead letters) however late it is', async ({ harness, ledger }) => {
      await seed(ledger, [makeRequest({ id: 'dead-1', state: 'dead' })])
      harness.clock.advance(10 * 365 * 24 * 3600)
      expect(await ledger.getRequest('dead-1')).toMatchObject({ state: 'dead' })
    })

    it('deletes expired rows when swept', async ({ harness, ledger, skip }) => {
      if (harness.sweepExpired === undefined) skip('DynamoDB deletes expired items itself (TTL); the adapter only hides them')
      const expiresAt = inAMinute(harness)
      await seed(ledger, [makeRequest({ id: 'old', expiresAt }), makeRequest({ id: 'kept' })])
      await ledger.rememberDelivery('shop', 'evt-1', 30)
      expect(harness.sweepExpired!()).toBe(0)
      harness.clock.advance(60)
      expect(harness.sweepExpired!()).toBe(2)
      expect(ids((await ledger.listRequests({})).items)).toEqual(['kept'])
    })
  })

  it('throws StorageUnavailableError when its store cannot be reached', async ({ harness }) => {
    const unreachable = harness.unreachable()
    await expect(unreachable.getRequest('r1')).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(unreachable.mutateRecord(KEY, [], () => ({ record: makeRecord(), result: undefined }))).rejects.toBeInstanceOf(
      StorageUnavailableError,
    )
    await expect(unreachable.hasDelivery('shop', 'evt-1')).rejects.toBeInstanceOf(StorageUnavailableError)
  })
})

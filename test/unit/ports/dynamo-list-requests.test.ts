import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { describe, expect, it } from 'vitest'
import { type Item, recordItem, requestItem, stateIndexPosition } from '../../../lib/ports/aws/dynamo-items.ts'
import { listRequestsByState } from '../../../lib/ports/aws/dynamo-list-requests.ts'
import { normalizeRequestQuery } from '../../../lib/ports/ledger-query.ts'
import type { RequestQuery } from '../../../lib/ports/ledger.ts'
import { at, makeRecord, makeRequest, T0 } from '../../contract/ledger-fixtures.ts'

type Command = { constructor: { name: string }; input: Record<string, unknown> }

/**
 * A table behind a keys-only index: Query answers index entries (which may lag the items), and
 * BatchGetItem the items, leaving the first `unprocessedOnce` keys unprocessed once.
 */
function fakeTable({ entries, items, unprocessedOnce = 0 }: { entries: Item[]; items: Item[]; unprocessedOnce?: number }) {
  const calls: string[] = []
  let leftOut = unprocessedOnce
  const client = {
    send: async (command: Command) => {
      calls.push(command.constructor.name)
      if (command.constructor.name === 'QueryCommand') {
        const state = (command.input.ExpressionAttributeValues as Item)[':pk']
        return { Items: entries.filter((entry) => entry.gsi1pk === state).sort((a, b) => String(b.gsi1sk).localeCompare(String(a.gsi1sk))) }
      }
      const request = (command.input.RequestItems as Record<string, { Keys: Item[]; ConsistentRead: boolean }>).ledger!
      expect(request.ConsistentRead).toBe(true)
      const unprocessed = request.Keys.slice(0, leftOut)
      leftOut = 0
      const served = request.Keys.slice(unprocessed.length).flatMap((key) => items.filter((item) => item.pk === key.pk))
      return { Responses: { ledger: served }, ...(unprocessed.length > 0 ? { UnprocessedKeys: { ledger: { Keys: unprocessed } } } : {}) }
    },
  } as unknown as DynamoDBDocumentClient
  return { client, calls }
}

const list = (client: DynamoDBDocumentClient, query: RequestQuery) => listRequestsByState(client, 'ledger', normalizeRequestQuery(query), new Date(T0))

describe('listRequestsByState (keys-only state index)', () => {
  const queuedInRecord = recordItem('shop##1', makeRecord({ recordKey: 'shop##1', requestId: 'a' }), makeRequest({ id: 'a', recordId: '1', updatedAt: at(1) }), 1)
  const queuedOwn = requestItem(makeRequest({ id: 'b', recordId: '2', updatedAt: at(2) }))

  it('reads the items of the index entries and answers their requests, newest first', async () => {
    const { client, calls } = fakeTable({ entries: [queuedInRecord, queuedOwn].map(stateIndexPosition), items: [queuedInRecord, queuedOwn] })
    const page = await list(client, { state: 'queued' })
    expect(page.items.map((request) => request.id)).toEqual(['b', 'a'])
    expect(page.items[1]).toEqual(makeRequest({ id: 'a', recordId: '1', updatedAt: at(1) }))
    expect(calls).toEqual(['QueryCommand', 'BatchGetCommand'])
  })

  it('leaves out an entry whose item has moved on since (the index lags), and one whose item is gone', async () => {
    const leased = recordItem('shop##1', makeRecord({ recordKey: 'shop##1', state: 'processing', requestId: 'a' }), makeRequest({ id: 'a', recordId: '1', state: 'leased', updatedAt: at(3) }), 2)
    const staleEntry = stateIndexPosition(queuedInRecord)
    const goneEntry = { ...stateIndexPosition(queuedOwn), pk: 'REQ#gone' }
    const { client } = fakeTable({ entries: [staleEntry, goneEntry, stateIndexPosition(queuedOwn)], items: [leased, queuedOwn] })
    expect((await list(client, { state: 'queued' })).items.map((request) => request.id)).toEqual(['b'])
  })

  it('filters on the request itself: source, record id, expiry and the exclusive end of the time range', async () => {
    const expired = requestItem(makeRequest({ id: 'c', recordId: '3', state: 'done', updatedAt: at(4), expiresAt: Date.parse(T0) / 1000 }))
    const done = requestItem(makeRequest({ id: 'd', recordId: '4', state: 'done', updatedAt: at(5) }))
    const other = requestItem(makeRequest({ id: 'e', source: 'crm', recordId: '4', state: 'done', updatedAt: at(6) }))
    const items = [expired, done, other]
    const { client } = fakeTable({ entries: items.map(stateIndexPosition), items })
    expect((await list(client, { state: 'done' })).items.map((request) => request.id)).toEqual(['e', 'd'])
    expect((await list(client, { state: 'done', source: 'shop' })).items.map((request) => request.id)).toEqual(['d'])
    expect((await list(client, { state: 'done', recordId: '4', since: at(5), until: at(6) })).items.map((request) => request.id)).toEqual(['d'])
  })

  it('asks again for the keys a batch left unprocessed', async () => {
    const { client, calls } = fakeTable({ entries: [queuedInRecord, queuedOwn].map(stateIndexPosition), items: [queuedInRecord, queuedOwn], unprocessedOnce: 1 })
    expect((await list(client, { state: 'queued' })).items.map((request) => request.id)).toEqual(['b', 'a'])
    expect(calls).toEqual(['QueryCommand', 'BatchGetCommand', 'BatchGetCommand'])
  })
})

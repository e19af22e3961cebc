import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { describe, expect, it } from 'vitest'
import { type Item, pointerItem, recordItem, recordItemKey, requestItem, requestItemKey } from '../../../lib/ports/aws/dynamo-items.ts'
import { commitPlan, type Homes, type Plan, planMutation, type ReadItems, type ReadState } from '../../../lib/ports/aws/dynamo-mutation.ts'
import type { RecordMutation } from '../../../lib/ports/ledger.ts'
import type { RecordState, RelayRequest } from '../../../lib/relay/types.ts'
import { makeRecord, makeRequest } from '../../contract/ledger-fixtures.ts'

const KEY = makeRecord().recordKey
const REC = recordItemKey(KEY).pk
const NOW_SECONDS = Date.parse('2031-03-01T12:00:00.000Z') / 1000

/** What mutateRecord would have read: the record's item (record + current request), and request items. */
function readOf({ record, current, rev = 1, own = [] }: { record?: RecordState; current?: RelayRequest; rev?: number; own?: Item[] } = {}): ReadState {
  const items: ReadItems = new Map()
  const homes: Homes = new Map()
  const stored = record ? recordItem(KEY, record, current, rev) : undefined
  items.set(REC, { key: recordItemKey(KEY), item: stored })
  if (current) homes.set(current.id, { pk: REC, request: current })
  for (const item of own) {
    const id = String(item.pk).slice(4)
    items.set(String(item.pk), { key: requestItemKey(id), item })
    if (item.request) homes.set(id, { pk: String(item.pk), request: item.request as RelayRequest })
  }
  return { recordKey: KEY, items, homes, isLive: (request) => request.expiresAt === undefined || request.expiresAt > NOW_SECONDS }
}

const plan = (read: ReadState, mutation: Omit<RecordMutation<null>, 'result'>): Plan => planMutation(read, { ...mutation, result: null })
const byPk = (result: Plan) => Object.fromEntries(result.writes.map((write) => [write.item.pk, write]))
const deciding = (result: Plan) => result.writes.filter((write) => !write.before).map((write) => write.item.pk)

describe('planMutation (DynamoDB ledger, one item per record)', () => {
  it('writes a new record and its request as ONE conditional put, the pointer going ahead', () => {
    const result = plan(readOf(), { record: makeRecord({ requestId: 'r1' }), requests: [makeRequest({ id: 'r1' })] })
    expect(deciding(result)).toEqual([REC])
    expect(result.checks).toEqual([])
    const writes = byPk(result)
    expect(writes[REC]!.condition).toEqual({ kind: 'absent' })
    expect(writes[REC]!.item).toMatchObject({ rev: 1, record: { requestId: 'r1', rev: 1 }, request: { id: 'r1', rev: 1 }, gsi1pk: 'STATE#queued' })
    expect(writes['REQ#r1']).toEqual({ item: pointerItem('r1', KEY), condition: { kind: 'absent_or_pointer', home: KEY }, before: true })
    expect(result.homes.get('r1')).toEqual(recordItemKey(KEY))
  })

  it('changes the record and its current request (a claim, an ack) with one put on the item rev, and nothing else', () => {
    const read = readOf({ record: makeRecord({ requestId: 'r1', rev: 3 }), current: makeRequest({ id: 'r1', rev: 5 }), rev: 9 })
    const result = plan(read, { record: makeRecord({ state: 'processing', requestId: 'r1' }), requests: [makeRequest({ id: 'r1', state: 'leased' })] })
    expect(result.writes).toHaveLength(1)
    expect(result.writes[0]!.condition).toEqual({ kind: 'rev', rev: 9 })
    expect(result.writes[0]!.item).toMatchObject({ rev: 10, record: { state: 'processing', rev: 4 }, request: { state: 'leased', rev: 6 }, gsi1pk: 'STATE#leased' })
    expect(result.checks).toEqual([])
  })

  it('moves a done request out to its own item, unchanged and ahead, when a new one becomes current', () => {
    const done = makeRequest({ id: 'r1', state: 'done', rev: 3, expiresAt: NOW_SECONDS + 60 })
    const read = readOf({ record: makeRecord({ state: 'idle', requestId: 'r1' }), current: done })
    const result = plan(read, { record: makeRecord({ requestId: 'r2' }), requests: [makeRequest({ id: 'r2' })] })
    expect(deciding(result)).toEqual([REC])
    const writes = byPk(result)
    expect(writes['REQ#r1']).toEqual({ item: requestItem(done), condition: { kind: 'moving_out', home: KEY, rev: 3 }, before: true })
    expect(writes['REQ#r2']!.before).toBe(true)
    expect(writes[REC]!.item).toMatchObject({ request: { id: 'r2' } })
    expect(result.homes.get('r1')).toEqual(requestItemKey('r1'))
  })

  it('moves a dead letter out in the same transaction as the record (a decision may still change it)', () => {
    const read = readOf({ record: makeRecord({ state: 'idle', requestId: 'r1' }), current: makeRequest({ id: 'r1', state: 'dead' }) })
    const result = plan(read, { record: makeRecord({ requestId: 'r2' }), requests: [makeRequest({ id: 'r2' })] })
    expect(deciding(result).sort()).toEqual([REC, 'REQ#r1'])
  })

  it('drops an expired current request instead of moving it', () => {
    const read = readOf({ record: makeRecord({ state: 'idle', requestId: 'r1' }), current: makeRequest({ id: 'r1', state: 'done', expiresAt: NOW_SECONDS - 1 }) })
    const result = plan(read, { record: makeRecord({ requestId: 'r2' }), requests: [makeRequest({ id: 'r2' })] })
    expect(Object.keys(byPk(result)).sort()).toEqual([REC, 'REQ#r2'])
  })

  it('writes a deferred follow-up to its own item, in one transaction with the record', () => {
    const read = readOf({ record: makeRecord({ state: 'processing', requestId: 'r1' }), current: makeRequest({ id: 'r1', state: 'leased' }) })
    const result = plan(read, { record: makeRecord({ state: 'processing', requestId: 'r1', dirty: true, nextRequestId: 'r2' }), requests: [makeRequest({ id: 'r2', state: 'deferred' })] })
    expect(deciding(result).sort()).toEqual([REC, 'REQ#r2'])
    expect(byPk(result)['REQ#r2']!.condition).toEqual({ kind: 'absent' })
    expect(byPk(result)[REC]!.item).toMatchObject({ request: { id: 'r1', state: 'leased' } })
  })

  it('takes a deferred request in as current (its own item becomes a pointer) while the ended one moves out', () => {
    const deferred = requestItem(makeRequest({ id: 'r2', state: 'deferred', rev: 2 }))
    const read = readOf({ record: makeRecord({ state: 'processing', requestId: 'r1', nextRequestId: 'r2' }), current: makeRequest({ id: 'r1', state: 'leased', rev: 4 }), own: [deferred] })
    const result = plan(read, { record: makeRecord({ requestId: 'r2' }), requests: [makeRequest({ id: 'r1', state: 'done' }), makeRequest({ id: 'r2', state: 'queued' })] })
    const writes = byPk(result)
    expect(writes['REQ#r2']).toEqual({ item: pointerItem('r2', KEY), condition: { kind: 'rev', rev: 2 } })
    expect(writes['REQ#r1']).toMatchObject({ item: { request: { state: 'done', rev: 5 } }, condition: { kind: 'moving_out', home: KEY, rev: 4 } })
    expect(writes[REC]!.item).toMatchObject({ request: { id: 'r2', state: 'queued', rev: 3 } })
    expect(result.writes.every((write) => !write.before)).toBe(true)
  })

  it('checks what it read but does not write, except pointers to the record it writes', () => {
    const other = requestItem(makeRequest({ id: 'r9', state: 'done', rev: 7 }))
    const read = readOf({ record: makeRecord({ requestId: 'r1' }), current: makeRequest({ id: 'r1' }), own: [other, pointerItem('r5', KEY), pointerItem('r6', 'shop##6')] })
    const result = plan(read, { requests: [makeRequest({ id: 'r1', eventCount: 2 })] })
    expect(result.checks).toEqual([
      { key: requestItemKey('r9'), condition: { kind: 'rev', rev: 7 } },
      { key: requestItemKey('r6'), condition: { kind: 'pointer', home: 'shop##6' } },
    ])
  })

  it('conditions a request written without its record on the record staying as read', () => {
    const result = plan(readOf(), { requests: [makeRequest({ id: 'a', state: 'done' })] })
    expect(deciding(result)).toEqual(['REQ#a'])
    expect(result.checks).toEqual([{ key: recordItemKey(KEY), condition: { kind: 'absent' } }])
  })

  it('refuses to write a request that is the current one of another record', () => {
    const read = readOf()
    read.homes.set('x1', { pk: recordItemKey('shop##7').pk, request: makeRequest({ id: 'x1', recordId: '7' }) })
    expect(() => plan(read, { requests: [makeRequest({ id: 'x1', recordId: '7' })] })).toThrow(/current request of another record/)
  })

  it('plans nothing when decide changes nothing', () => {
    expect(plan(readOf(), {}).writes).toEqual([])
  })

  it('sets the TTL only when everything in the item expires, at the latest expiry', () => {
    const idle = makeRecord({ state: 'idle', expiresAt: NOW_SECONDS + 10 })
    expect(recordItem(KEY, idle, makeRequest({ id: 'r1', state: 'done', expiresAt: NOW_SECONDS + 20 }), 1).expiresAt).toBe(NOW_SECONDS + 20)
    expect(recordItem(KEY, idle, makeRequest({ id: 'r1', state: 'dead' }), 1)).not.toHaveProperty('expiresAt')
    expect(recordItem(KEY, makeRecord({ state: 'idle' }), makeRequest({ id: 'r1', state: 'done', expiresAt: NOW_SECONDS }), 1)).not.toHaveProperty('expiresAt')
    expect(() => recordItem(KEY, makeRecord({ requestId: 'r1' }), makeRequest({ id: 'r2' }), 1)).toThrow(/not the current request/)
  })
})

describe('commitPlan', () => {
  function fakeClient(fail: (command: { constructor: { name: string }; input: Record<string, unknown> }) => boolean = () => false) {
    const sent: { name: string; input: Record<string, unknown> }[] = []
    const client = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: command.constructor.name, input: command.input })
        if (fail(command)) throw Object.assign(new Error('condition failed'), { name: 'ConditionalCheckFailedException' })
        return {}
      },
    } as unknown as DynamoDBDocumentClient
    return { client, sent }
  }

  it('sends the writes that may go ahead first, then the deciding put, with no transaction', async () => {
    const { client, sent } = fakeClient()
    const result = plan(readOf(), { record: makeRecord({ requestId: 'r1' }), requests: [makeRequest({ id: 'r1' })] })
    expect(await commitPlan(client, 'ledger', result)).toBe('committed')
    expect(sent.map((call) => [call.name, (call.input.Item as Item).pk])).toEqual([
      ['PutCommand', 'REQ#r1'],
      ['PutCommand', REC],
    ])
    expect(sent[1]!.input.ConditionExpression).toBe('attribute_not_exists(pk)')
  })

  it('reports a conflict, and writes nothing that decides, when a write going ahead loses', async () => {
    const { client, sent } = fakeClient((command) => (command.input.Item as Item | undefined)?.pk === 'REQ#r1')
    const result = plan(readOf(), { record: makeRecord({ requestId: 'r1' }), requests: [makeRequest({ id: 'r1' })] })
    expect(await commitPlan(client, 'ledger', result)).toBe('conflict')
    expect(sent).toHaveLength(1)
  })

  it('makes several deciding writes one transaction, with the condition checks', async () => {
    const { client, sent } = fakeClient()
    const result = plan(readOf(), { requests: [makeRequest({ id: 'a', state: 'done' })] })
    expect(await commitPlan(client, 'ledger', result)).toBe('committed')
    expect(sent.map((call) => call.name)).toEqual(['TransactWriteCommand'])
    expect((sent[0]!.input.TransactItems as object[]).map((entry) => Object.keys(entry)[0])).toEqual(['Put', 'ConditionCheck'])
  })
})

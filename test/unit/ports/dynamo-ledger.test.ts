import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { afterEach, describe, expect, it } from 'vitest'
import { DynamoLedger } from '../../../lib/ports/aws/dynamo-ledger.ts'
import { recordItemKey, requestItemKey } from '../../../lib/ports/aws/dynamo-items.ts'
import { createDynamoTable, type DynamoTable } from '../../support/emulators.ts'
import { makeRecord, makeRequest } from '../../contract/ledger-fixtures.ts'

const KEY = makeRecord().recordKey

/** What the item layout (dynamo-items.ts) promises, checked on DynamoDB Local. */
describe('DynamoLedger item layout', () => {
  let table: DynamoTable | undefined
  afterEach(async () => {
    await table?.drop()
    table = undefined
  })
  const open = async () => {
    table = await createDynamoTable()
    return { ledger: new DynamoLedger({ tableName: table.tableName, client: table.client }), table }
  }
  const stored = async (key: { pk: string; sk: string }) => (await table!.client.send(new GetCommand({ TableName: table!.tableName, Key: key, ConsistentRead: true }))).Item

  it('keeps a record and its current request in one item, and a pointer to it under the request id', async () => {
    const { ledger } = await open()
    await ledger.mutateRecord(KEY, [], () => ({ record: makeRecord({ requestId: 'r1' }), requests: [makeRequest({ id: 'r1' })], result: null }))
    expect(await stored(recordItemKey(KEY))).toMatchObject({ rev: 1, record: { requestId: 'r1' }, request: { id: 'r1', state: 'queued' }, gsi1pk: 'STATE#queued' })
    expect(await stored(requestItemKey('r1'))).toEqual({ ...requestItemKey('r1'), home: KEY })
  })

  it('moves a done request to its own item when its record takes a new one, where getRequest and the listing still find it', async () => {
    const { ledger } = await open()
    await ledger.mutateRecord(KEY, [], () => ({ record: makeRecord({ state: 'idle', requestId: 'r1' }), requests: [makeRequest({ id: 'r1', state: 'done' })], result: null }))
    await ledger.mutateRecord(KEY, [], () => ({ record: makeRecord({ requestId: 'r2' }), requests: [makeRequest({ id: 'r2' })], result: null }))
    expect(await stored(requestItemKey('r1'))).toMatchObject({ request: { id: 'r1', state: 'done' }, gsi1pk: 'STATE#done' })
    expect(await stored(recordItemKey(KEY))).toMatchObject({ request: { id: 'r2' } })
    expect(await ledger.getRequest('r1')).toMatchObject({ id: 'r1', state: 'done', rev: 1 })
    expect((await ledger.listRequests({})).items.map((request) => request.id).sort()).toEqual(['r1', 'r2'])
  })

  it('leaves nothing visible behind when two first webhooks of a record race: the loser decides again on the winner', async () => {
    const { ledger } = await open()
    const create = (id: string) =>
      ledger.mutateRecord(KEY, [], (snapshot) =>
        snapshot.record
          ? { requests: [{ ...snapshot.requests.get(snapshot.record.requestId!)!, eventCount: 2 }], result: `coalesced into ${snapshot.record.requestId}` }
          : { record: makeRecord({ requestId: id }), requests: [makeRequest({ id })], result: 'created' },
      )
    const results = await Promise.all([create('a'), create('b')])
    const winner = results.includes('coalesced into a') ? 'a' : 'b'
    const loser = winner === 'a' ? 'b' : 'a'
    expect(results.sort()).toEqual(['coalesced into ' + winner, 'created'].sort())
    expect(await ledger.getRequest(winner)).toMatchObject({ eventCount: 2 })
    // The loser's pointer may have landed; it points at a record that does not hold it.
    expect(await ledger.getRequest(loser)).toBeUndefined()
    expect(await ledger.markSent(loser, makeRequest({ id: loser }).createdAt)).toBe(false)
    expect((await ledger.listRequests({})).items.map((request) => request.id)).toEqual([winner])
  })

  it('finds a request by id for markSent in another ledger instance (no remembered home), one read then one write', async () => {
    const { ledger, table } = await open()
    await ledger.mutateRecord(KEY, [], () => ({ record: makeRecord({ requestId: 'r1' }), requests: [makeRequest({ id: 'r1' })], result: null }))
    const elsewhere = new DynamoLedger({ tableName: table.tableName, client: table.client })
    expect(await elsewhere.markSent('r1', '2031-03-01T12:00:01.000Z')).toBe(true)
    expect(await ledger.getRequest('r1')).toMatchObject({ sentAt: '2031-03-01T12:00:01.000Z', rev: 2 })
  })
})

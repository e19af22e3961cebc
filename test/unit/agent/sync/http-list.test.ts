import { afterEach, describe, expect, it } from 'vitest'
import { fetchSchema } from '../../../../lib/agent/config.ts'
import { createAuthenticator } from '../../../../lib/agent/connectors/auth.ts'
import { createConnector } from '../../../../lib/agent/connectors/index.ts'
import { createHttpList } from '../../../../lib/agent/connectors/list/http-list.ts'
import type { ListedRecord, ListQuery } from '../../../../lib/agent/connectors/list/list-connector.ts'
import { readAll } from './read-pages.ts'
import { isAgentError } from '../../../../lib/agent/errors.ts'
import { HttpClient } from '../../../../lib/agent/http-client.ts'
import { listSchema, type HttpListConfig } from '../../../../lib/agent/sync/sync-config.ts'
import { listApiId, startFakeListApi, type FakeListApi, type ListApiRecord } from '../../../support/fake-list-api.ts'

const http = new HttpClient()
const open: FakeListApi[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((api) => api.close()))
})

async function api(options: Parameters<typeof startFakeListApi>[0] = {}): Promise<FakeListApi> {
  const started = await startFakeListApi(options)
  open.push(started)
  return started
}

function list(fake: FakeListApi, config: Record<string, unknown>) {
  const parsed = listSchema.parse({ type: 'http', pageSize: 100, ...config }) as HttpListConfig
  const fetch = createConnector(fetchSchema.parse({ type: 'http', url: `${fake.url}/items/{id}` }), { auth: createAuthenticator(undefined, http), key: 'sources.crm.fetch' })
  return createHttpList(parsed, { auth: createAuthenticator(undefined, http), fetch, key: 'sources.crm.list', retryBaseDelaySeconds: 0.01 })
}

const query = (overrides: Partial<ListQuery> = {}): ListQuery => ({ source: 'crm', job: 'nightly', runId: 'run-1', ...overrides })

function expectEachOnce(records: ListedRecord[], count: number): void {
  const ids = records.map((record) => record.id)
  expect(new Set(ids).size).toBe(ids.length)
  expect(ids).toEqual(Array.from({ length: count }, (_, index) => listApiId(index)))
}

describe('http list connector', () => {
  it.each([
    ['next-cursor in the body', { url: '{base}/items?style=next&limit={pageSize}&cursor={cursor}', items: 'data', pagination: { type: 'next', next: 'next_cursor' } }],
    ['Link rel=next headers', { url: '{base}/items?style=link&limit={pageSize}', pagination: { type: 'link' } }],
    ['offset/limit', { url: '{base}/items?style=offset&offset={offset}&limit={pageSize}', items: 'data', pagination: { type: 'offset' } }],
    ['page numbers', { url: '{base}/items?style=page&page={page}&limit={pageSize}', items: 'data', pagination: { type: 'page' } }],
    ['keyset since + sinceKey', { url: '{base}/items?style=keyset&since={since}&since_id={sinceKey}&limit={pageSize}', items: 'data', pagination: { type: 'since' } }],
  ])('reads every record once with %s pagination', async (_style, config) => {
    const fake = await api({ generated: { count: 1050, perTimestamp: 7 } })
    const { records, pages } = await readAll(list(fake, { ...config, url: config.url.replace('{base}', fake.url) }).pages(query()))
    expectEachOnce(records, 1050)
    expect(pages).toBe(11)
    expect(records[0]).toMatchObject({ op: 'upsert', cursor: '2026-01-01T00:00:00.000Z', record: { id: listApiId(0), name: 'record 0' } })
  })

  it('delivers 5,000 records sharing one updated_at across page boundaries exactly once (keyset)', async () => {
    const fake = await api({ generated: { count: 5200, perTimestamp: 5000 } })
    const { records } = await readAll(list(fake, { url: `${fake.url}/items?style=keyset&since={since}&since_id={sinceKey}&limit={pageSize}`, items: 'data', pagination: { type: 'since' }, pageSize: 1000 }).pages(query()))
    expectEachOnce(records, 5200)
  })

  it('drops the boundary keys an inclusive (>= since) API hands out again', async () => {
    // 300 records per timestamp: every page boundary falls inside a group of ties.
    const fake = await api({ generated: { count: 2000, perTimestamp: 300 } })
    const { records, pages } = await readAll(list(fake, { url: `${fake.url}/items?style=since&since={since}&limit={pageSize}`, items: 'data', pagination: { type: 'since' }, pageSize: 1000 }).pages(query()))
    expectEachOnce(records, 2000)
    expect(pages).toBeGreaterThan(2)
  })

  it('fails visibly, not in an endless loop, when more ties than a page share one cursor and the API has no key tiebreak', async () => {
    const fake = await api({ generated: { count: 5000, perTimestamp: 5000 } })
    const pages = list(fake, { url: `${fake.url}/items?style=since&since={since}&limit={pageSize}`, items: 'data', pagination: { type: 'since' }, pageSize: 1000 }).pages(query())
    const error = await readAll(pages).catch((caught: unknown) => caught)
    expect(isAgentError(error) && error.code).toBe('agent.list_stuck')
    expect((error as Error).message).toMatch(/add \{sinceKey\}/)
    expect(fake.calls.length).toBe(2)
  })

  it('resumes strictly after a (cursor, key) watermark and stops at until', async () => {
    const fake = await api({ generated: { count: 100, perTimestamp: 10 } })
    const after = { cursor: '2026-01-01T00:00:00.002Z', key: listApiId(24) }
    const until = '2026-01-01T00:00:00.005Z'
    const connector = list(fake, { url: `${fake.url}/items?style=keyset&since={since}&since_id={sinceKey}&until={until}&limit={pageSize}`, items: 'data', pagination: { type: 'since' }, order: 'cursor-key', pageSize: 10 })
    const { records } = await readAll(connector.pages(query({ after, until })))
    expect(records.map((record) => record.id)).toEqual(Array.from({ length: 35 }, (_, index) => listApiId(index + 25)))
  })

  it('retries 429 and 500 mid-pagination, honouring Retry-After', async () => {
    const fake = await api({ generated: { count: 300 } })
    const connector = list(fake, { url: `${fake.url}/items?style=offset&offset={offset}&limit={pageSize}`, items: 'data', pagination: { type: 'offset' } })
    const pages = connector.pages(query())[Symbol.asyncIterator]()
    const first = await pages.next()
    expect(first.value).toHaveLength(100)
    fake.script({ status: 429, headers: { 'retry-after': '1' } }, { status: 500 })
    const rest: ListedRecord[] = []
    for (let page = await pages.next(); !page.done; page = await pages.next()) rest.push(...page.value)
    expectEachOnce([...(first.value as ListedRecord[]), ...rest], 300)
    const [limited, failed, retried] = fake.calls.slice(1, 4)
    expect([limited!.status, failed!.status, retried!.status]).toEqual([429, 500, 200])
    expect(failed!.at - limited!.at).toBeGreaterThanOrEqual(990)
  })

  it('gives up after its attempts with a retryable error that keeps the Retry-After', async () => {
    const fake = await api({ generated: { count: 10 } })
    fake.script(...Array.from({ length: 3 }, () => ({ status: 503, headers: { 'retry-after': '0' } })))
    const connector = list(fake, { url: `${fake.url}/items?style=offset&offset={offset}&limit={pageSize}`, items: 'data', pagination: { type: 'offset' }, attempts: 3 })
    const error = await readAll(connector.pages(query())).catch((caught: unknown) => caught)
    expect(isAgentError(error) && { code: error.code, retryable: error.retryable, retryAfterSeconds: error.retryAfterSeconds }).toEqual({ code: 'agent.list_failed', retryable: true, retryAfterSeconds: 0 })
    expect(fake.calls).toHaveLength(3)
  })

  it('fetches each full record through the fetch connector with detail: fetch, within the rate limit', async () => {
    const fake = await api({ generated: { count: 20 } })
    const connector = list(fake, {
      url: `${fake.url}/items?style=offset&offset={offset}&limit={pageSize}`,
      items: 'data.{"id": id, "updated_at": updated_at}',
      pagination: { type: 'offset' },
      detail: 'fetch',
      rateLimit: { requestsPerSecond: 50, concurrency: 2 },
    })
    const startedAt = Date.now()
    const { records } = await readAll(connector.pages(query()))
    expect(records.map((record) => (record.record as ListApiRecord).name)).toEqual(Array.from({ length: 20 }, (_, index) => `record ${index}`))
    expect(fake.detailCalls).toBe(20)
    // 21 calls at 50/s: at least 20 spacings of 20 ms.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(390)
  })

  it('reads just the asked ids through byIds, and through fetch without it (404 → delete)', async () => {
    const fake = await api({ generated: { count: 50 } })
    const ids = [listApiId(3), listApiId(7)]
    const byIds = list(fake, { url: `${fake.url}/items`, byIds: `${fake.url}/items?ids={ids}`, items: 'data', pagination: { type: 'offset' } })
    expect((await readAll(byIds.pages(query({ ids })))).records.map((record) => record.id)).toEqual(ids)
    const throughFetch = list(fake, { url: `${fake.url}/items`, items: 'data', pagination: { type: 'offset' } })
    const { records } = await readAll(throughFetch.pages(query({ ids: [...ids, '999999999'] })))
    expect(records.map((record) => [record.id, record.op])).toEqual([[ids[0], 'upsert'], [ids[1], 'upsert'], ['999999999', 'delete']])
  })

  it('marks items the deleted predicate matches as deletes', async () => {
    const fake = await api()
    fake.put({ id: 'a', updated_at: '2026-01-01T00:00:00Z' }, { id: 'b', updated_at: '2026-01-02T00:00:00Z', archived: true })
    const connector = list(fake, { url: `${fake.url}/items?style=offset&offset={offset}&limit={pageSize}`, items: 'data', pagination: { type: 'offset' }, deleted: 'archived = true' })
    expect((await readAll(connector.pages(query()))).records.map((record) => [record.id, record.op])).toEqual([['a', 'upsert'], ['b', 'delete']])
  })
})

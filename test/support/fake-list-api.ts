import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A record of the fake list API, ordered by (updated_at, id). */
export interface ListApiRecord {
  id: string
  updated_at: string
  [field: string]: unknown
}

/** A scripted answer for the next list request. */
export interface ListApiReply {
  status: number
  headers?: Record<string, string>
  body?: unknown
}

/** A list request as the API saw it. */
export interface ListApiCall {
  url: string
  at: number
  status: number
}

export interface FakeListApi {
  url: string
  /** Every list request (not record GETs), in order. */
  calls: ListApiCall[]
  /** Creates or replaces records (kept in (updated_at, id) order). Not for generated data sets. */
  put(...records: ListApiRecord[]): void
  /** Deletes a record: lists leave it out, GETs answer 404. */
  remove(id: string): void
  /** The next list requests answer these, one each, in order; then normally again. */
  script(...replies: ListApiReply[]): void
  /** Called before each list page is answered (e.g. to change records mid-run). */
  onPage: (call: number) => void
  /** Every list page answers after this long (a slow API). */
  pageDelayMs: number
  /** GET /items/<id> calls (detail fetches). */
  detailCalls: number
  close(): Promise<void>
}

export interface GeneratedRecords {
  count: number
  /** Records per distinct updated_at (ties); default 1. */
  perTimestamp?: number
  /** updated_at of the first record (ISO); default 2026-01-01. */
  start?: string
}

const DIGITS = 9
export const listApiId = (index: number): string => String(index).padStart(DIGITS, '0')

/**
 * A fake paginated SaaS list API over real HTTP. `GET /items` answers the records in
 * (updated_at, id) order with the pagination style given by `style`:
 *   next   → body `{data, next_cursor}`, `cursor=` the token;   link → `Link: <...>; rel="next"`;
 *   offset → `offset=`, `limit=`;   page → `page=` (from 1), `limit=`;
 *   since  → `since=` inclusive (>=) only;   keyset → `since=` + `since_id=` exclusive.
 * `until=` bounds updated_at; `ids=a,b` reads just those. `GET /items/<id>` answers one record
 * (404 when unknown). Generated data sets (1,000,000 records) are computed, not stored.
 */
export async function startFakeListApi(options: { generated?: GeneratedRecords } = {}): Promise<FakeListApi> {
  const stored: ListApiRecord[] = []
  const generated = options.generated
  const startMs = Date.parse(generated?.start ?? '2026-01-01T00:00:00.000Z')
  const perTimestamp = generated?.perTimestamp ?? 1
  const size = () => (generated ? generated.count : stored.length)
  const at = (index: number): ListApiRecord =>
    generated
      ? { id: listApiId(index), updated_at: new Date(startMs + Math.floor(index / perTimestamp)).toISOString(), name: `record ${index}`, amount: index % 1000 }
      : stored[index]!
  const before = (record: ListApiRecord, time: string, id: string) => record.updated_at < time || (record.updated_at === time && record.id < id)
  /** Index of the first record not before (time, id). */
  const lowerBound = (time: string, id: string) => {
    let [low, high] = [0, size()]
    while (low < high) {
      const middle = (low + high) >>> 1
      if (before(at(middle), time, id)) low = middle + 1
      else high = middle
    }
    return low
  }
  const scripted: ListApiReply[] = []
  const api = { calls: [] as ListApiCall[], onPage: (_call: number) => {}, detailCalls: 0, pageDelayMs: 0 }

  const answer = (request: IncomingMessage): { status: number; headers?: Record<string, string>; body: unknown } => {
    const url = new URL(request.url ?? '/', 'http://fake')
    const detail = /^\/items\/([^/]+)$/.exec(url.pathname)
    if (detail) {
      api.detailCalls += 1
      const id = decodeURIComponent(detail[1]!)
      const index = generated ? Number(id) : stored.findIndex((record) => record.id === id)
      return index >= 0 && index < size() ? { status: 200, body: at(index) } : { status: 404, body: { error: 'no such record' } }
    }
    if (url.pathname !== '/items') return { status: 404, body: { error: 'no such route' } }
    const reply = scripted.shift()
    if (reply) return { status: reply.status, ...(reply.headers ? { headers: reply.headers } : {}), body: reply.body ?? { error: `scripted ${reply.status}` } }
    api.onPage(api.calls.length)
    const query = url.searchParams
    const limit = Number(query.get('limit') ?? 100)
    const ids = query.get('ids')
    if (ids !== null) {
      const wanted = new Set(ids.split(','))
      const data = generated ? [...wanted].map(Number).filter((index) => index < size()).map(at) : stored.filter((record) => wanted.has(record.id))
      return { status: 200, body: { data } }
    }
    const style = query.get('style') ?? 'offset'
    const since = query.get('since') ?? ''
    const sinceId = query.get('since_id') ?? ''
    const until = query.get('until') || '9999'
    let start = style === 'keyset' && sinceId !== '' ? lowerBound(since, `${sinceId}\u0000`) : lowerBound(since, '')
    if (style === 'offset' || style === 'link') start += Number(query.get('offset') ?? 0)
    if (style === 'page') start += (Number(query.get('page') ?? 1) - 1) * limit
    if (style === 'next' && query.get('cursor')) start = Number(Buffer.from(query.get('cursor')!, 'base64url').toString())
    const data: ListApiRecord[] = []
    for (let index = start; index < size() && data.length < limit; index += 1) {
      const record = at(index)
      if (record.updated_at > until) break
      data.push(record)
    }
    const end = start + data.length
    const more = data.length === limit && end < size() && at(end).updated_at <= until
    if (style === 'next') return { status: 200, body: { data, next_cursor: more ? Buffer.from(String(end)).toString('base64url') : null } }
    if (style === 'link' && more) {
      const next = new URL(url)
      next.searchParams.set('offset', String(Number(query.get('offset') ?? 0) + data.length))
      return { status: 200, headers: { link: `<${next.pathname}${next.search}>; rel="next", <${url.pathname}>; rel="first"` }, body: data }
    }
    return { status: 200, body: style === 'link' ? data : { data } }
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume()
    request.on('end', () => {
      const { status, headers, body } = answer(request)
      if (!/^\/items\/./.test(request.url ?? '')) api.calls.push({ url: request.url ?? '/', at: Date.now(), status })
      const text = JSON.stringify(body)
      const send = () => {
        if (response.destroyed) return
        response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
        response.end(text)
      }
      if (api.pageDelayMs > 0 && !/^\/items\/./.test(request.url ?? '')) setTimeout(send, api.pageDelayMs)
      else send()
    })
  })
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get calls() {
      return api.calls
    },
    get detailCalls() {
      return api.detailCalls
    },
    get pageDelayMs() {
      return api.pageDelayMs
    },
    set pageDelayMs(ms) {
      api.pageDelayMs = ms
    },
    get onPage() {
      return api.onPage
    },
    set onPage(callback) {
      api.onPage = callback
    },
    put(...records) {
      if (generated) throw new Error('put: the data set is generated')
      for (const record of records) {
        const index = stored.findIndex((existing) => existing.id === record.id)
        if (index >= 0) stored.splice(index, 1)
        stored.splice(lowerBound(record.updated_at, record.id), 0, record)
      }
    },
    remove(id) {
      if (generated) throw new Error('remove: the data set is generated')
      const index = stored.findIndex((existing) => existing.id === id)
      if (index >= 0) stored.splice(index, 1)
    },
    script: (...replies) => void scripted.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

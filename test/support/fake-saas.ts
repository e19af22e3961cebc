import { randomBytes } from 'node:crypto'
import { startHttpTestServer, type ReceivedRequest, type Reply } from './http-test-server.ts'
import type { TestScope } from './test-scope.ts'

/** A record of the fake SaaS: every change bumps `version`. */
export interface SaasRecord {
  id: string
  version: number
  [field: string]: unknown
}

/** A call the fake SaaS received, with the status it answered. */
export interface SaasCall extends ReceivedRequest {
  collection: string
  id: string
  status: number
}

export interface FakeSaas {
  url: string
  /** The API token the agent must send (`Authorization: Bearer <token>`); other calls get 401. */
  token: string
  /** The agent's fetch URL template for a collection: `<url>/<collection>/{id}`. */
  recordUrl(collection: string): string
  /** Creates or changes a record (merging `fields`); every change bumps its version. */
  change(collection: string, id: string, fields?: Record<string, unknown>): SaasRecord
  /** Deletes a record: GETs answer 404 from now on. */
  remove(collection: string, id: string): void
  record(collection: string, id: string): SaasRecord | undefined
  /** The next GETs of this record answer these, one each, in order; then the record again. */
  script(collection: string, id: string, replies: Reply[]): void
  /** Every GET answers after this long (a slow API). */
  fetchDelayMs: number
  /** Every GET, in order of arrival. */
  fetches: SaasCall[]
  /** Every PATCH (write-backs), in order of arrival. */
  patches: SaasCall[]
  fetchesOf(collection: string, id: string): SaasCall[]
  close(): Promise<void>
}

const RECORD_PATH = /^\/([a-z]+)\/([^/?]+)$/

/**
 * A fake SaaS REST API over real HTTP: `GET /<collection>/<id>` returns the record as it is now
 * (404 once deleted), `PATCH /<collection>/<id>` merges the JSON body into it (a write-back).
 * Replies to GETs can be scripted per call: 429 with Retry-After, then 500, then the record.
 */
export async function startFakeSaas(scope: TestScope): Promise<FakeSaas> {
  const token = `saas_${randomBytes(8).toString('hex')}`
  const records = new Map<string, SaasRecord>()
  const scripts = new Map<string, Reply[]>()
  const keyOf = (collection: string, id: string) => `${collection}/${id}`

  const change = (collection: string, id: string, fields: Record<string, unknown> = {}): SaasRecord => {
    const current = records.get(keyOf(collection, id))
    const next = { ...current, ...fields, id, version: (current?.version ?? 0) + 1 }
    records.set(keyOf(collection, id), next)
    return next
  }

  const answer = (request: ReceivedRequest, collection: string, id: string): Reply => {
    if (request.headers.authorization !== `Bearer ${token}`) return { status: 401, body: { error: 'invalid API token' } }
    if (request.method === 'GET') {
      const scripted = scripts.get(keyOf(collection, id))?.shift()
      if (scripted) return { ...scripted, delayMs: scripted.delayMs ?? saas.fetchDelayMs }
      const record = records.get(keyOf(collection, id))
      return record ? { status: 200, body: record, delayMs: saas.fetchDelayMs } : { status: 404, body: { error: 'no such record' }, delayMs: saas.fetchDelayMs }
    }
    if (request.method === 'PATCH') {
      if (!records.has(keyOf(collection, id))) return { status: 404, body: { error: 'no such record' } }
      if (typeof request.body !== 'object' || request.body === null) return { status: 400, body: { error: 'expected a JSON object' } }
      return { status: 200, body: change(collection, id, request.body as Record<string, unknown>) }
    }
    return { status: 405, body: { error: 'method not allowed' } }
  }

  const server = await startHttpTestServer((request) => {
    const [, collection, rawId] = RECORD_PATH.exec(request.path) ?? []
    if (!collection || !rawId) return { status: 404, body: { error: 'no such route' } }
    const id = decodeURIComponent(rawId)
    const reply = answer(request, collection, id)
    const call = { ...request, collection, id, status: reply.status }
    if (request.method === 'GET') saas.fetches.push(call)
    if (request.method === 'PATCH') saas.patches.push(call)
    return reply
  })
  scope.defer(() => server.close())

  const saas: FakeSaas = {
    url: server.url,
    token,
    recordUrl: (collection) => `${server.url}/${collection}/{id}`,
    change,
    remove: (collection, id) => void records.delete(keyOf(collection, id)),
    record: (collection, id) => records.get(keyOf(collection, id)),
    script: (collection, id, replies) => void scripts.set(keyOf(collection, id), [...replies]),
    fetchDelayMs: 0,
    fetches: [],
    patches: [],
    fetchesOf: (collection, id) => saas.fetches.filter((call) => call.collection === collection && call.id === id),
    close: () => server.close(),
  }
  return saas
}

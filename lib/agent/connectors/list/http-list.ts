import type { LeaseGrant } from '../../../relay/agent-api.ts'
import { permanentError } from '../../errors.ts'
import { compileExpression } from '../../expression.ts'
import { httpFailure } from '../../http-failure.ts'
import type { HttpListConfig } from '../../sync/sync-config.ts'
import { withRetries } from '../../sync/retry.ts'
import type { Authenticator } from '../auth.ts'
import type { Connector } from '../connector.ts'
import { renderHeaders, renderTemplate, type TemplateValues } from '../template.ts'
import { compareCursors, compareKeys, cursorValue, type ListConnector, type ListedRecord, type ListQuery } from './list-connector.ts'
import { compileItemExpression } from './field-path.ts'
import { nextLink } from './link-header.ts'
import { RateLimiter } from './rate-limit.ts'

/** Ids per `byIds` request. */
const IDS_PER_REQUEST = 100

export interface HttpListDeps {
  auth: Authenticator
  /** The source's fetch connector: `detail: fetch` and resends without `byIds` go through it. */
  fetch: Connector
  /** Config key of the block (e.g. `sources.crm.list`), for messages. */
  key: string
  recordType?: string | undefined
  now?: () => number
  /** Backoff base for retries (tests shorten it). */
  retryBaseDelaySeconds?: number
}

/**
 * Reads changed records from a paginated REST API: next-page token, Link header, offset, page
 * number or keyset (`since`) pagination; JSONata picks the items, their ids and cursors. Calls
 * are rate limited per source and retried on 408/429/5xx, honouring Retry-After.
 */
export function createHttpList(config: HttpListConfig, deps: HttpListDeps): ListConnector {
  const { key } = deps
  const now = deps.now ?? Date.now
  const items = config.items === undefined ? undefined : compileItemExpression(config.items, `${key}.items`)
  const idOf = compileItemExpression(config.id, `${key}.id`)
  const cursorOf = compileItemExpression(config.cursor, `${key}.cursor`)
  const deletedOf = config.deleted === undefined ? undefined : compileExpression(config.deleted, `${key}.deleted`)
  const next = config.pagination.type === 'next' ? compileExpression(config.pagination.next, `${key}.pagination.next`) : undefined
  const limiter = new RateLimiter(config.rateLimit)
  const retry = { attempts: config.attempts, ...(deps.retryBaseDelaySeconds === undefined ? {} : { baseDelaySeconds: deps.retryBaseDelaySeconds }) }

  const get = async (url: string, values: TemplateValues, signal?: AbortSignal): Promise<{ body: unknown; headers: Record<string, string> }> => {
    const what = `list ${values.source}`
    const response = await withRetries(
      () =>
        limiter.run(async () => {
          const answer = await deps.auth.send({
            what,
            url,
            method: config.method,
            headers: { accept: 'application/json', ...(config.body === undefined ? {} : { 'content-type': 'application/json' }), ...renderHeaders(config.headers, values) },
            ...(config.body === undefined ? {} : { body: renderTemplate(config.body, values, 'json') }),
            timeoutMs: config.timeoutMs,
            ...(signal ? { signal } : {}),
          })
          if (answer.status < 200 || answer.status >= 300) throw httpFailure('agent.list_failed', what, answer, { secrets: deps.auth.secrets, now: now() })
          return answer
        }, signal),
      { ...retry, signal },
    )
    try {
      return { body: JSON.parse(response.text) as unknown, headers: response.headers }
    } catch {
      throw permanentError('agent.list_failed', `${what}: HTTP ${response.status} but the body is not JSON`)
    }
  }

  const itemsOf = async (body: unknown): Promise<unknown[]> => {
    const found = items ? await items(body) : body
    if (found === undefined || found === null) return []
    return Array.isArray(found) ? found : [found]
  }

  const fetchOne = (id: string, query: ListQuery, signal?: AbortSignal) =>
    withRetries(() => limiter.run(() => deps.fetch.fetch(leaseFor(id, query, deps.recordType), signal), signal), { ...retry, signal })

  /** An item as a listed record: id, cursor, and (with `detail: fetch`) the full record. */
  const recordOf = async (item: unknown, query: ListQuery, signal?: AbortSignal): Promise<ListedRecord> => {
    const id = await idOf(item)
    const cursor = await cursorOf(item)
    if (id === undefined || id === null || id === '') throw permanentError('agent.list_failed', `${key}.id gave nothing for an item of the list`)
    if (query.ids === undefined && (cursor === undefined || cursor === null)) throw permanentError('agent.list_failed', `${key}.cursor gave nothing for item ${String(id)}`)
    const record: ListedRecord = { id: String(id), cursor: cursor === undefined || cursor === null ? '' : cursorValue(cursor), op: 'upsert', record: item }
    if (deletedOf && (await deletedOf(item)) === true) return { ...record, op: 'delete' }
    if (config.detail !== 'fetch') return record
    const fetched = await fetchOne(record.id, query, signal)
    return fetched.op === 'delete' ? { ...record, op: 'delete' } : { ...record, record: fetched.record }
  }

  return {
    order: config.order,
    cursorType: config.cursorType,
    async *pages(query, signal) {
      if (query.ids !== undefined) {
        yield* byIds(query, signal)
        return
      }
      const pagination = config.pagination
      const values: TemplateValues = {
        since: query.after?.cursor ?? '',
        sinceKey: query.after?.key ?? '',
        until: query.until ?? '',
        cursor: '',
        pageSize: config.pageSize,
        offset: 0,
        page: pagination.type === 'page' ? pagination.first : 1,
        ids: '',
        source: query.source,
        job: query.job,
        runId: query.runId,
      }
      const keyset = pagination.type === 'since' && [config.url, config.body ?? '', ...Object.values(config.headers)].some((template) => template.includes('{sinceKey}'))
      // Keys already seen at the last cursor value: an inclusive (`>= since`) API hands them out again.
      let boundary = query.after ? { cursor: query.after.cursor, keys: new Set([String(query.after.key)]) } : undefined
      let url = renderTemplate(config.url, values, 'url')
      for (;;) {
        const { body, headers } = await get(url, values, signal)
        const listed = await itemsOf(body)
        const records = await Promise.all(listed.map((item) => recordOf(item, query, signal)))
        let reachedUntil = false
        const fresh = records.filter((record) => {
          if (query.until !== undefined && config.cursorType === 'time' && compareCursors(record.cursor, query.until, 'time') > 0) {
            reachedUntil ||= config.order !== 'none'
            return false
          }
          if (query.after && config.order === 'cursor-key' && compareRecord(record, query.after, config.cursorType) <= 0) return false
          return !(boundary && compareCursors(record.cursor, boundary.cursor, config.cursorType) === 0 && boundary.keys.has(record.id))
        })
        yield fresh
        if (reachedUntil || listed.length === 0) return
        const last = records.at(-1)!
        if (!boundary || compareCursors(last.cursor, boundary.cursor, config.cursorType) !== 0) boundary = { cursor: last.cursor, keys: new Set() }
        for (const record of records) if (compareCursors(record.cursor, boundary.cursor, config.cursorType) === 0) boundary.keys.add(record.id)
        switch (pagination.type) {
          case 'next': {
            const token = await next!(body)
            if (token === undefined || token === null || token === '') return
            values.cursor = String(token)
            break
          }
          case 'link': {
            const link = nextLink(headers.link, url)
            if (!link) return
            url = link
            continue
          }
          case 'offset':
            if (listed.length < config.pageSize) return
            values.offset = Number(values.offset) + listed.length
            break
          case 'page':
            if (listed.length < config.pageSize) return
            values.page = Number(values.page) + 1
            break
          case 'since':
            if (listed.length < config.pageSize) return
            if (!keyset && fresh.length === 0) {
              throw permanentError('agent.list_stuck', `${key}: a whole page (${config.pageSize}) shares cursor ${String(last.cursor)}: add {sinceKey} to the url (keyset) or raise pageSize`)
            }
            values.since = last.cursor
            values.sinceKey = last.id
            break
        }
        url = renderTemplate(config.url, values, 'url')
      }
    },
  }

  async function* byIds(query: ListQuery, signal?: AbortSignal): AsyncGenerator<ListedRecord[]> {
    const ids = query.ids!
    const step = config.byIds ? IDS_PER_REQUEST : config.pageSize
    for (let start = 0; start < ids.length; start += step) {
      const group = ids.slice(start, start + step)
      if (!config.byIds) {
        yield await Promise.all(group.map(async (id): Promise<ListedRecord> => {
          const fetched = await fetchOne(id, query, signal)
          if (fetched.op === 'delete') return { id, cursor: '', op: 'delete' }
          return { id, cursor: cursorValue((await cursorOf(fetched.record)) ?? ''), op: 'upsert', record: fetched.record }
        }))
        continue
      }
      const values: TemplateValues = { ids: group.join(','), since: '', sinceKey: '', until: '', cursor: '', pageSize: config.pageSize, offset: 0, page: 1, source: query.source, job: query.job, runId: query.runId }
      const { body } = await get(renderTemplate(config.byIds, values, 'url'), values, signal)
      // An id the answer leaves out is not taken for a delete: a filter the API ignores would wipe the destination.
      yield await Promise.all((await itemsOf(body)).map((item) => recordOf(item, query, signal)))
    }
  }
}

function compareRecord(record: ListedRecord, after: { cursor: string | number; key: string | number }, type: 'time' | 'number' | 'text'): number {
  return compareCursors(record.cursor, after.cursor, type) || compareKeys(record.id, after.key)
}

/** What the fetch connector needs of a lease, for one listed record. */
function leaseFor(id: string, query: ListQuery, recordType: string | undefined): LeaseGrant {
  return {
    lease: '',
    requestId: query.runId,
    source: query.source,
    recordId: id,
    ...(recordType === undefined ? {} : { recordType }),
    events: [],
    eventCount: 0,
    attempt: 1,
    maxAttempts: 1,
    leaseExpiresAt: '',
    mode: 'async',
  }
}


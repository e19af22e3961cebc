import { resolve } from 'node:path'
import * as z from 'zod/mini'
import '../../config/zod.ts'
import { headerName, httpUrl, jsonataExpression, nonEmpty, templateOf } from '../config-parts.ts'

/**
 * The agent config of scheduled synchronisation: a source's `list` (how to read changed
 * records), `sync` (how a run delivers them) and `originFilter` (two-way sync). The schedule
 * itself (`jobs`) is the server's business; this is the how. Like config.ts, this schema IS the
 * reference of these keys (the building blocks it shares with config.ts are in config-parts.ts).
 */

const positiveInt = (max: number) => z.number().check(z.int(), z.gte(1), z.lte(max))
/** Placeholders of list URL, header and body templates. */
export const LIST_PLACEHOLDERS = ['since', 'sinceKey', 'until', 'cursor', 'pageSize', 'offset', 'page', 'ids', 'source', 'job', 'runId'] as const
const listTemplate = templateOf(LIST_PLACEHOLDERS)

/**
 * In what order the source hands out records, which decides what a checkpoint can promise.
 * `cursor-key`: sorted by (cursor, key): a resumed run skips what it committed exactly.
 * `cursor`: sorted by cursor, ties in any order: a resumed run re-reads the records of its last
 * cursor value (the loop guard skips the unchanged ones). `none`: no order: progress is kept but
 * the job's watermark moves only when a run completes (to the greatest cursor it saw).
 */
const order = z._default(z.enum(['cursor-key', 'cursor', 'none']), 'cursor')
/** How cursor values compare: `time` (ISO/RFC 3339 text or dates, bounded by the run's `until`), `number`, or `text`. */
const cursorType = z._default(z.enum(['time', 'number', 'text']), 'time')
const pageSize = z._default(positiveInt(10_000), 1000)
/** The record type the webhook path gives these records (`{type}`), so both paths share loop-guard state and fetch URLs. */
const recordType = z.optional(nonEmpty)

export const paginationSchema = z.discriminatedUnion('type', [
  /** A next-page token in the body: JSONata over the response (e.g. `meta.next_cursor`); nothing ends the list. Fills `{cursor}`. */
  z.strictObject({ type: z.literal('next'), next: jsonataExpression }),
  /** The `Link: <...>; rel="next"` header (GitHub, Shopify): its URL is followed as it is. */
  z.strictObject({ type: z.literal('link') }),
  /** `{offset}` steps by `{pageSize}`; a short page ends the list. */
  z.strictObject({ type: z.literal('offset') }),
  /** `{page}` counts from `first`; a short page ends the list. */
  z.strictObject({ type: z.literal('page'), first: z._default(z.number().check(z.int(), z.gte(0)), 1) }),
  /**
   * Keyset: the next page asks again with `{since}` (and `{sinceKey}`) set to the last record's
   * cursor (and id). Without `{sinceKey}` in the template the API is taken to read `>= since`:
   * the records already seen at that cursor are dropped, and a page holding nothing new is an
   * error (more records share one cursor value than fit in a page) rather than an endless loop.
   */
  z.strictObject({ type: z.literal('since') }),
])

const rateLimitSchema = z.strictObject({
  /** At most this many list (and detail) requests per second; default: no limit. */
  requestsPerSecond: z.optional(z.number().check(z.gt(0), z.lte(10_000))),
  /** At most this many at the same time (detail fetches run in parallel up to it). */
  concurrency: z._default(positiveInt(64), 4),
})

const httpListSchema = z.strictObject({
  type: z.literal('http'),
  /** e.g. `https://api.example.com/contacts?updated_since={since}&limit={pageSize}&cursor={cursor}` (URL-encoded here). Sent with the fetch's `auth`. */
  url: listTemplate,
  method: z._default(z.enum(['GET', 'POST']), 'GET'),
  headers: z._default(z.record(headerName, listTemplate), {}),
  /** Request body (for POST, e.g. GraphQL); placeholders are JSON-string-escaped. */
  body: z.optional(listTemplate),
  timeoutMs: z._default(z.number().check(z.int(), z.gte(100), z.lte(300_000)), 30_000),
  pageSize,
  pagination: paginationSchema,
  /** JSONata over the response giving the page's items; default: the response itself (an array). */
  items: z.optional(jsonataExpression),
  /** JSONata over an item giving its id (the record id, as the webhook path knows it). */
  id: z._default(jsonataExpression, 'id'),
  /** JSONata over an item giving its cursor value (the replication key, e.g. `updated_at`). */
  cursor: z._default(jsonataExpression, 'updated_at'),
  order,
  cursorType,
  /** JSONata predicate over an item: true means the record was deleted (a delete is delivered). */
  deleted: z.optional(jsonataExpression),
  recordType,
  /** `fetch`: the list gives summaries; each full record is fetched by id through the source's `fetch`. */
  detail: z.optional(z.enum(['fetch'])),
  /** Resend on request: a URL reading just these records, `{ids}` comma-separated; default: each id through `fetch`. */
  byIds: z.optional(listTemplate),
  rateLimit: z._default(rateLimitSchema, { concurrency: 4 }),
  /** Attempts per request on 408/429/5xx and network errors (Retry-After honoured) before the run is retried later. */
  attempts: z._default(positiveInt(20), 6),
})

const sqlIdentifier = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, 'expected a column or table name (letters, digits, _; schema.table allowed)'))
const sqlListShape = {
  /** Connection URL, e.g. `postgres://sync@db.internal/erp` (use `${ERP_DATABASE_URL}`). */
  url: nonEmpty,
  /** A table or view, e.g. `public.customers`. */
  table: z.optional(sqlIdentifier),
  /** Or a query; it is read as `SELECT * FROM (<query>) AS hookferry_list ...`. */
  query: z.optional(nonEmpty),
  /** The replication-key column (e.g. `updated_at`): a record changes, its cursor grows. */
  cursor: sqlIdentifier,
  /** The primary-key column: ties on the cursor are ordered by it, and it is the record id. */
  key: sqlIdentifier,
  cursorType,
  pageSize,
  recordType,
}
const exactlyOneOfTableOrQuery = z.refine((list: unknown) => {
  const { table, query } = list as { table?: string; query?: string }
  return (table === undefined) !== (query === undefined)
}, 'give either table or query (not both)')

/** Where a run reads changed records from. */
export const listSchema = z.discriminatedUnion('type', [
  httpListSchema,
  /** A PostgreSQL table, view or query, read in `(cursor, key)` keyset order, a page at a time. */
  z.strictObject({ type: z.literal('postgres'), ...sqlListShape }).check(exactlyOneOfTableOrQuery),
  /** Same for MySQL / MariaDB. */
  z.strictObject({ type: z.literal('mysql'), ...sqlListShape }).check(exactlyOneOfTableOrQuery),
])
export type ListConfig = z.infer<typeof listSchema>
export type HttpListConfig = Extract<ListConfig, { type: 'http' }>
export type SqlListConfig = Extract<ListConfig, { type: 'postgres' | 'mysql' }>

/** Post-load processing: runs once per completed run with `{run, changedKeys}`. */
export const afterRunSchema = z.discriminatedUnion('type', [
  /** A statement in the sink's database (postgres/mysql sinks), e.g. `CALL refresh_customers($1)`; `$1`/`?` is the summary as JSON. */
  z.strictObject({ type: z.literal('sql'), statement: nonEmpty }),
  /** A function `(summary) => void | Promise<void>` from your module. */
  z.strictObject({ type: z.literal('module'), module: nonEmpty, export: z._default(nonEmpty, 'default') }),
  /** POST the summary as JSON. */
  z.strictObject({
    type: z.literal('http'),
    url: httpUrl,
    headers: z._default(z.record(headerName, z.string()), {}),
    timeoutMs: z._default(z.number().check(z.int(), z.gte(100), z.lte(300_000)), 30_000),
  }),
])
export type AfterRunConfig = z.infer<typeof afterRunSchema>

export const syncSchema = z.strictObject({
  /** Records per chunk: one `deliverBatch` (one transaction at a database sink), then a checkpoint. */
  chunkSize: z._default(positiveInt(10_000), 1000),
  /**
   * Sinks that deliver one record per call (http, module) get a chunk this many records at a
   * time, so a chunk of 1,000 never means 1,000 requests at once to a SaaS API. Database and file
   * sinks take the whole chunk in one write.
   */
  concurrency: z._default(positiveInt(256), 16),
  /** Rejected records (kept in the run's errors, and a database sink's reject table) beyond which the run fails. */
  rejectLimit: z._default(z.number().check(z.int(), z.gte(0)), 100),
  /** Attempts per chunk on transient sink failures (with backoff) before the run is retried later. */
  attempts: z._default(positiveInt(20), 5),
  /** Full refresh: after a complete, error-free full run, delete (or soft-delete, as the sink is set up) what the run did not see. Needs a sink that can (postgres, mysql). */
  deletes: z._default(z.boolean(), false),
  /** At most one checkpoint per this many ms (the last one always goes); a resumed run redoes at most this much. */
  checkpointEveryMs: z._default(z.number().check(z.int(), z.gte(0), z.lte(600_000)), 1000),
  /** Changed keys handed to `afterRun`, at most (beyond: `changedKeys` is null, `changedKeysComplete` false). */
  maxChangedKeys: z._default(z.number().check(z.int(), z.gte(0), z.lte(10_000_000)), 100_000),
  afterRun: z.optional(afterRunSchema),
})
export type SyncConfig = z.infer<typeof syncSchema>

/** The source keys of config.ts's sourceSchema that belong to scheduled synchronisation. */
export const syncSourceKeys = {
  /** How a scheduled run reads changed records (the server config's `jobs` say when). */
  list: z.optional(listSchema),
  sync: z.prefault(syncSchema, {}),
  /**
   * Two-way sync: a JSONata predicate over the fetched (or listed) record, e.g.
   * `last_modified_by != 'hookferry-integration'`. A record for which it is not true is our own
   * change coming back: skipped (note `own change`) on the webhook path and in runs.
   */
  originFilter: z.optional(jsonataExpression),
}

/** Resolves the afterRun module against the config file's folder. */
export function resolveSyncPaths<T extends { sync: SyncConfig }>(source: T, baseDir: string): T {
  const afterRun = source.sync.afterRun
  if (afterRun?.type !== 'module') return source
  return { ...source, sync: { ...source.sync, afterRun: { ...afterRun, module: resolve(baseDir, afterRun.module) } } }
}

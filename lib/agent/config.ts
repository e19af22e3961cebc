import * as z from 'zod/mini'
import '../config/zod.ts'
import { unknownRootFields, unknownRootMessage } from '../expressions/root-paths.ts'
import { headerName, httpUrl, jsonataExpression, nonEmpty, templateOf } from './config-parts.ts'
import { MAX_LEASE_IN_SECONDS, MAX_PULL_WAIT_IN_SECONDS } from '../relay/agent-api.ts'
import { mysqlDeliverSchema, postgresDeliverSchema } from './sinks/sql/sql-config.ts'
import { syncSourceKeys } from './sync/sync-config.ts'

/**
 * The agent config file (agent.yaml). This schema IS the reference documentation of the file:
 * every key, its default and its meaning. `${NAME}` and `${NAME:-default}` are replaced by
 * environment variables before validation: keep tokens and passwords there, not in the file.
 * Relative paths (dataDir, modules, file sinks) are relative to the config file.
 * See examples/agent/agent.yaml for a commented sample.
 */

const timeoutMs = z._default(z.number().check(z.int(), z.gte(100), z.lte(300_000)), 10_000)

/** Placeholders that request templates (URLs, headers, bodies) may use. */
export const REQUEST_PLACEHOLDERS = ['id', 'type', 'event', 'requestId', 'source'] as const

/** A template with `{id}`, `{type}`, `{event}`, `{requestId}`, `{source}` (URL-encoded inside URLs). */
const requestTemplate = templateOf(REQUEST_PLACEHOLDERS)
const headerTemplates = z._default(z.record(headerName, requestTemplate), {})

export const authSchema = z.discriminatedUnion('type', [
  /** `Authorization: Bearer <token>` (API keys of Stripe, GitHub tokens, ...). */
  z.strictObject({ type: z.literal('bearer'), token: nonEmpty }),
  /** HTTP Basic auth (RFC 7617). */
  z.strictObject({ type: z.literal('basic'), username: nonEmpty, password: z.string() }),
  /** An API key in a header of your choice, e.g. `X-Api-Key`. */
  z.strictObject({ type: z.literal('header'), name: nonEmpty, value: nonEmpty }),
  /**
   * OAuth 2.0 client credentials (RFC 6749 §4.4). The access token is cached until shortly
   * before it expires, and fetched again after a 401 (once per request).
   */
  z.strictObject({
    type: z.literal('oauth2'),
    tokenUrl: httpUrl,
    clientId: nonEmpty,
    clientSecret: nonEmpty,
    /** Space-separated scopes, sent as `scope`. */
    scope: z.optional(z.string()),
    /** Sent as `audience` (Auth0 and others need it). */
    audience: z.optional(z.string()),
    /** How the client authenticates: `basic` (HTTP Basic, which RFC 6749 §2.3.1 makes every server accept) or `body` (client_id/client_secret form fields). */
    clientAuthentication: z._default(z.enum(['basic', 'body']), 'basic'),
  }),
])
export type AuthConfig = z.infer<typeof authSchema>

/** A JSONata expression over the fetched record giving its version (e.g. `updated_at`): part of the idempotency key. */
const version = z.optional(jsonataExpression)

export const fetchSchema = z.discriminatedUnion('type', [
  /** GET the record from the SaaS API by id. 404/410 mean "deleted": a delete is delivered. */
  z.strictObject({
    type: z.literal('http'),
    /** e.g. `https://api.stripe.com/v1/customers/{id}`. */
    url: requestTemplate,
    method: z._default(z.enum(['GET', 'POST']), 'GET'),
    headers: headerTemplates,
    /** Request body (for POST, e.g. GraphQL); placeholders are JSON-string-escaped. */
    body: z.optional(requestTemplate),
    auth: z.optional(authSchema),
    timeoutMs,
    /** JSONata over the JSON response picking the record out of it, e.g. `data`. Default: the whole response. */
    select: z.optional(jsonataExpression),
    version,
  }),
  /** Deliver the webhook body the cloud forwarded (the source needs `forwardPayload: true` on the server). */
  z.strictObject({ type: z.literal('payload'), version }),
])
export type FetchConfig = z.infer<typeof fetchSchema>

/** A JSONata expression over an input with exactly these fields: a path outside them is a missing-quotes mistake. */
const jsonataOver = (roots: readonly string[]) =>
  jsonataExpression.check(
    z.superRefine((source, ctx) => {
      const fields = unknownRootFields(source, roots)
      if (fields.length > 0) ctx.addIssue({ code: 'custom', input: source, message: unknownRootMessage(source, fields, roots) })
    }),
  )

/** A function exported by your own module: a path (relative to this file) and the export's name. */
const moduleRef = { module: nonEmpty, export: z._default(nonEmpty, 'default') }

export const transformSchema = z
  .object({
    /** JSONata over `{record, request}` giving what is delivered; nothing (undefined) skips the record. Paths start at `record.` or `request.`; literal text needs quotes. */
    jsonata: z.optional(jsonataOver(['record', 'request'])),
    /** Or a module whose export is `(record, context) => value | Promise<value>`; it may throw an error with `retryable: true`. */
    module: z.optional(nonEmpty),
    export: z._default(nonEmpty, 'default'),
  })
  .check(z.refine((t) => (t.jsonata === undefined) !== (t.module === undefined), 'give either jsonata or module (not both)'))
export type TransformConfig = z.infer<typeof transformSchema>

export const deliverSchema = z.discriminatedUnion('type', [
  /**
   * Send it to an on-prem HTTP endpoint with an `Idempotency-Key` header (same key on every
   * redelivery of one version) and `Hookferry-*` headers naming the operation, source and record.
   * 408/429/5xx and network errors are retried (honouring Retry-After); other 4xx dead-letter.
   */
  z.strictObject({
    type: z.literal('http'),
    url: requestTemplate,
    method: z._default(z.enum(['POST', 'PUT', 'PATCH']), 'POST'),
    headers: headerTemplates,
    timeoutMs,
    /** `record`: the body is the record, and a delete is `DELETE <url>` without a body. `envelope`: always `method`, body `{op, source, recordId, ..., record}`. */
    format: z._default(z.enum(['record', 'envelope']), 'record'),
  }),
  /** Append one JSON line per delivery to a file (fsync'd before the ack). */
  z.strictObject({ type: z.literal('file'), path: nonEmpty }),
  /** Call your own function `(delivery, context) => void | {status, headers, body}`; throwing retries unless the error has `retryable: false`. */
  z.strictObject({ type: z.literal('module'), ...moduleRef }),
  /** Upsert into a PostgreSQL / MySQL-or-MariaDB table (see lib/agent/sinks/sql/sql-config.ts). */
  postgresDeliverSchema,
  mysqlDeliverSchema,
])
export type DeliverConfig = z.infer<typeof deliverSchema>

export const writeBackSchema = z.strictObject({
  /** Template: `{id}`, `{type}`, `{event}`, `{requestId}`, `{source}` and any top-level field of the evaluated body (e.g. `{externalId}`). */
  url: nonEmpty,
  method: z._default(z.enum(['POST', 'PATCH', 'PUT']), 'POST'),
  headers: headerTemplates,
  /** Default: the fetch auth. */
  auth: z.optional(authSchema),
  timeoutMs,
  /**
   * JSONata over `{record, delivered, request, response, localKey}` giving the JSON body: `record` as
   * fetched, `delivered` after the transform, `response` the sink's answer `{status, headers, body}`,
   * `localKey` the row's local primary key from a database sink with `localKey` set.
   * Nothing (undefined) skips the write-back. Failures are retried (redelivery is harmless).
   */
  body: jsonataOver(['record', 'delivered', 'request', 'response', 'localKey']),
})
export type WriteBackConfig = z.infer<typeof writeBackSchema>

export const sourceSchema = z.strictObject({
  fetch: fetchSchema,
  transform: z.optional(transformSchema),
  deliver: deliverSchema,
  writeBack: z.optional(writeBackSchema),
  /**
   * Two-way sync: a record whose delivered content (minus `ignoreFields`, dotted paths such as
   * `metadata.synced_at`) equals the last one delivered is acked `unchanged`, not delivered again.
   * This is what stops write-back → webhook → fetch → deliver loops.
   */
  loopPrevention: z._default(
    z.strictObject({
      enabled: z._default(z.boolean(), true),
      ignoreFields: z._default(z.array(nonEmpty), []),
      /** Hashes of records not delivered for this long are forgotten (at most one more delivery of unchanged content then). */
      forgetAfterDays: z._default(z.number().check(z.gte(1)), 90),
    }),
    { enabled: true, ignoreFields: [], forgetAfterDays: 90 },
  ),
  /** Scheduled synchronisation: `list`, `sync`, `originFilter` (see sync/sync-config.ts). */
  ...syncSourceKeys,
})
export type AgentSourceConfig = z.infer<typeof sourceSchema>

export const agentConfigSchema = z.strictObject({
  cloud: z.strictObject({
    /** Base URL of the cloud half (where `/agent/v1/...` lives), e.g. `https://relay.example.com`. */
    url: httpUrl,
    /** This agent's bearer token (`hookferry token` makes one). Use `${HOOKFERRY_AGENT_TOKEN}`. */
    token: nonEmpty,
    /** Lease asked for on each pull; slow work is extended at about half of it. */
    leaseSeconds: z._default(z.number().check(z.int(), z.gte(5), z.lte(MAX_LEASE_IN_SECONDS)), 60),
    /** Long-poll wait: the cloud answers as soon as there is work, or after this long with none. */
    pollWaitSeconds: z._default(z.number().check(z.gte(0), z.lte(MAX_PULL_WAIT_IN_SECONDS)), 20),
  }),
  /** Requests worked on at the same time. */
  concurrency: z._default(z.number().check(z.int(), z.gte(1), z.lte(256)), 4),
  /**
   * Circuit breaking per SaaS API and per destination: after `failureThreshold` outages in a row
   * (refused, reset, timed out, 429/502/503/504, database connection lost) the far side's work is
   * held without spending attempts, and one request probes every `probeIntervalSeconds`.
   */
  circuitBreaker: z._default(
    z.strictObject({
      failureThreshold: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), 3),
      probeIntervalSeconds: z._default(z.number().check(z.gte(0.1), z.lte(3600)), 5),
    }),
    { failureThreshold: 3, probeIntervalSeconds: 5 },
  ),
  /** Where the agent keeps its state (loop-prevention hashes). */
  dataDir: z._default(nonEmpty, './.hookferry-agent'),
  /** Local health endpoint: `/healthz` and Prometheus `/metrics`. Off unless a port is given (0: any free port). */
  health: z.optional(
    z.strictObject({
      host: z._default(nonEmpty, '127.0.0.1'),
      port: z.number().check(z.int(), z.gte(0), z.lte(65_535)),
    }),
  ),
  log: z._default(z.strictObject({ level: z._default(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']), 'info') }), { level: 'info' }),
  /** One entry per source configured on the cloud, under the same name. */
  sources: z.record(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'source names use lower-case letters, digits, "_" and "-"')),
    sourceSchema,
  ),
})
export type AgentConfig = z.infer<typeof agentConfigSchema>

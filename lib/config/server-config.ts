import * as z from 'zod/mini'
import { unknownRootFields, unknownRootMessage } from '../expressions/root-paths.ts'
import { syncJobsSchema } from './sync-jobs.ts'
import './zod.ts'

/**
 * The server config file (hookferry.yaml). This schema IS the reference documentation of the
 * file: every key, its default and its meaning. `${NAME}` references are resolved first.
 */

const secrets = z.array(z.string().check(z.minLength(1, 'a secret must not be empty'))).check(
  z.minLength(1, 'give at least one secret (several allow rotation)'),
)
const toleranceSeconds = z._default(z.number().check(z.int(), z.gte(1)), 300)

export const verifySchema = z.discriminatedUnion('scheme', [
  /** GitHub: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256 of the raw body. */
  z.strictObject({ scheme: z.literal('github'), secrets }),
  /** Stripe: Stripe-Signature "t=..,v1=..,v1=.."; HMAC-SHA256 of "{t}.{body}"; timestamp tolerance. */
  z.strictObject({ scheme: z.literal('stripe'), secrets, toleranceSeconds }),
  /** Shopify: X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256 of the raw body. */
  z.strictObject({ scheme: z.literal('shopify'), secrets }),
  /** Slack: X-Slack-Signature "v0=" + hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{body}". */
  z.strictObject({ scheme: z.literal('slack'), secrets, toleranceSeconds }),
  /** Standard Webhooks (also svix-* headers): base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", whsec_ secrets. */
  z.strictObject({
    scheme: z.literal('standard-webhooks'),
    secrets: secrets.check(
      z.refine((list) => list.every((secret) => /^(?:whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(secret)), 'a standard-webhooks secret is base64, optionally after "whsec_"'),
    ),
    toleranceSeconds,
  }),
  /** Any HMAC scheme: header, algorithm, encoding, optional prefix and signed-content template. */
  z.strictObject({
    scheme: z.literal('hmac'),
    secrets,
    header: z.string().check(z.minLength(1)),
    algorithm: z._default(z.enum(['sha1', 'sha256', 'sha512']), 'sha256'),
    encoding: z._default(z.enum(['hex', 'base64']), 'hex'),
    /** Text before the signature in the header, e.g. "sha256=". */
    prefix: z._default(z.string(), ''),
    /** What is signed: placeholders {body}, {timestamp}, {id}. */
    signedContent: z._default(z.string(), '{body}'),
    /** Header carrying the timestamp (unix seconds) when {timestamp} is signed; enables the tolerance check. */
    timestampHeader: z.optional(z.string()),
    /** Header carrying the delivery id when {id} is signed. */
    idHeader: z.optional(z.string()),
    toleranceSeconds,
  }).check(
    z.refine((hmac) => !hmac.signedContent.includes('{timestamp}') || hmac.timestampHeader !== undefined, {
      message: 'signedContent uses {timestamp}: set timestampHeader to the header that carries it',
      path: ['timestampHeader'],
    }),
    z.refine((hmac) => !hmac.signedContent.includes('{id}') || hmac.idHeader !== undefined, {
      message: 'signedContent uses {id}: set idHeader to the header that carries it',
      path: ['idHeader'],
    }),
  ),
  /** A shared token: "Authorization: Bearer <token>", Basic auth, or a custom header. */
  z.strictObject({
    scheme: z.literal('token'),
    secrets,
    type: z._default(z.enum(['bearer', 'basic', 'header']), 'bearer'),
    /** For type "header": the header that carries the token. */
    header: z.optional(z.string()),
  }).check(
    z.refine((token) => token.type !== 'header' || Boolean(token.header), {
      message: 'type "header" needs header: the name of the header that carries the token',
      path: ['header'],
    }),
  ),
  /** No verification at all. Only with allowUnsigned: true, so it is never an accident. */
  z.strictObject({
    scheme: z.literal('none'),
    allowUnsigned: z.literal(true, 'scheme "none" accepts unsigned webhooks: set allowUnsigned: true to confirm'),
  }),
])
export type VerifyConfig = z.infer<typeof verifySchema>
export type VerifyScheme = VerifyConfig['scheme']

/** What extraction expressions are evaluated over. */
export const EXTRACT_ROOTS = ['body', 'headers', 'query'] as const

/** A JSONata expression over {body, headers, query}: a path outside them is a missing-quotes mistake. */
const extractExpression = z.string().check(
  z.minLength(1),
  z.superRefine((source, ctx) => {
    const fields = unknownRootFields(source, EXTRACT_ROOTS)
    if (fields.length > 0) ctx.addIssue({ code: 'custom', input: source, message: unknownRootMessage(source, fields, EXTRACT_ROOTS) })
  }),
)

/**
 * Each key is a JSONata expression over `{body, headers, query}`. Paths start at one of those
 * (`body.data.object.id`, `headers."x-github-event"`); literal text needs quotes:
 * `recordType: "'issue'"` (YAML keeps the inner single quotes for JSONata).
 */
export const extractSchema = z.strictObject({
  /** JSONata over {body, headers, query}: one record id or an array of them (batched webhooks). */
  recordId: extractExpression,
  /** JSONata: the record's type (e.g. `body.type`, or the literal `"'customer'"`); part of the record's identity. */
  recordType: z.optional(extractExpression),
  /** JSONata: the event name (e.g. "customer.updated"), used by filters and shown in history. */
  event: z.optional(extractExpression),
  /** JSONata: the delivery id used to drop duplicate deliveries. Default per scheme, else a hash of the body. */
  deliveryId: z.optional(extractExpression),
})
export type ExtractConfig = z.infer<typeof extractSchema>

export const sourceSchema = z.strictObject({
  verify: verifySchema,
  extract: extractSchema,
  /** Event filter: glob patterns ("customer.*") on the event name. */
  filter: z._default(
    z.strictObject({
      include: z._default(z.array(z.string()), []),
      exclude: z._default(z.array(z.string()), []),
    }),
    { include: [], exclude: [] },
  ),
  /** async: answer 202 at once. sync: wait (bounded) for the agent's reply and return it. */
  mode: z._default(z.enum(['async', 'sync']), 'async'),
  sync: z._default(
    z.strictObject({
      /** How long the webhook response may wait for the agent; keep it below the provider's own timeout. */
      timeoutMs: z._default(z.number().check(z.int(), z.gte(100), z.lte(28_000)), 8_000),
      /** Reply headers passed back to the caller (lower case). */
      headers: z._default(z.array(z.string()), ['content-type']),
    }),
    { timeoutMs: 8_000, headers: ['content-type'] },
  ),
  /** Keep the webhook body in the ledger and hand it to the agent (for webhooks that carry the full record). Off by default: the cloud holds only ids. */
  forwardPayload: z._default(z.boolean(), false),
  /** Attempts before a request is dead-lettered. */
  maxAttempts: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 10),
  /** How long a delivery id is remembered for dedupe. */
  dedupeSeconds: z._default(z.number().check(z.int(), z.gte(60)), 86_400),
  /** Scheduled sync runs of this source (lib/config/sync-jobs.ts): name → schedule, mode, lag. */
  jobs: syncJobsSchema,
})
export type SourceConfig = z.infer<typeof sourceSchema>

export const agentCredentialSchema = z.strictObject({
  id: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, 'agent ids use letters, digits, ".", "_" and "-" (at most 64)')),
  /** SHA-256 (hex) of the agent's bearer token: `hookferry token` prints both. The token itself is never stored. */
  tokenSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex characters (sha256 of the token)')),
})
export type AgentCredential = z.infer<typeof agentCredentialSchema>

/** How long `hookferry serve` waits for a request's headers when limits.headersTimeoutMs is not set. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000

export const serverConfigSchema = z.strictObject({
  sources: z.record(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'source names use lower-case letters, digits, "_" and "-"')),
    sourceSchema,
  ),
  agents: z._default(z.array(agentCredentialSchema), []),
  /** Admin API token (SHA-256 hex of it); without one the admin API is closed. */
  adminTokenSha256: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/))),
  limits: z._default(
    z
      .strictObject({
        /** Largest webhook body accepted (413 above it). */
        maxBodyBytes: z._default(z.number().check(z.int(), z.gte(1024), z.lte(6 * 1024 * 1024)), 1024 * 1024),
        /** `hookferry serve` only: a request (headers and body) not fully received in this time is cut off with a 408. */
        requestTimeoutMs: z._default(z.number().check(z.int(), z.gte(1_000), z.lte(300_000)), 30_000),
        /** `hookferry serve` only: the same for the request's headers alone. Default DEFAULT_HEADERS_TIMEOUT_MS (10 s), or requestTimeoutMs if shorter. */
        headersTimeoutMs: z.optional(z.number().check(z.int(), z.gte(1_000), z.lte(300_000))),
      })
      .check(
        z.refine((limits) => limits.headersTimeoutMs === undefined || limits.headersTimeoutMs <= limits.requestTimeoutMs, {
          message: 'headersTimeoutMs must not exceed requestTimeoutMs (the headers are part of the request)',
          path: ['headersTimeoutMs'],
        }),
      ),
    { maxBodyBytes: 1024 * 1024, requestTimeoutMs: 30_000 },
  ),
  lease: z._default(
    z.strictObject({
      /** Lease (visibility timeout) when the agent does not ask for one. */
      defaultSeconds: z._default(z.number().check(z.int(), z.gte(5), z.lte(43_200)), 60),
    }),
    { defaultSeconds: 60 },
  ),
  retry: z._default(
    z.strictObject({
      /** Exponential backoff with full jitter: delay = random(0, min(max, base * 2^attempt)). */
      baseDelaySeconds: z._default(z.number().check(z.gte(0)), 2),
      maxDelaySeconds: z._default(z.number().check(z.gte(1), z.lte(43_200)), 900),
    }),
    { baseDelaySeconds: 2, maxDelaySeconds: 900 },
  ),
  retention: z._default(
    z.strictObject({
      /** How long finished requests stay in the ledger. Dead letters stay until replayed or discarded. */
      doneSeconds: z._default(z.number().check(z.int(), z.gte(60)), 7 * 86_400),
    }),
    { doneSeconds: 7 * 86_400 },
  ),
  alerts: z._default(
    z.strictObject({
      /** Alert when no agent has sent a heartbeat for this long. */
      agentSilentSeconds: z._default(z.number().check(z.int(), z.gte(10)), 120),
      /** Alert when the oldest waiting request is older than this. */
      backlogAgeSeconds: z._default(z.number().check(z.int(), z.gte(10)), 600),
    }),
    { agentSilentSeconds: 120, backlogAgeSeconds: 600 },
  ),
})
export type ServerConfig = z.infer<typeof serverConfigSchema>

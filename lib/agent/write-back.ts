import type { WriteBackConfig } from './config.ts'
import type { Authenticator } from './connectors/auth.ts'
import { renderHeaders, renderTemplate, requestValues, type TemplateValues } from './connectors/template.ts'
import { retryableError } from './errors.ts'
import { compileExpression } from './expression.ts'
import { parseRetryAfter, summariseResponse } from './http-failure.ts'
import type { SinkResponse } from './sinks/sink.ts'
import type { TransformContext } from './transform.ts'

/** What the write-back body expression sees. */
export interface WriteBackInput {
  /** The record as fetched from the source. */
  record: unknown
  /** What was delivered (after the transform). */
  delivered: unknown
  request: TransformContext
  /** The sink's answer, e.g. the id the on-prem system gave the record. */
  response: SinkResponse | undefined
  /** The row's local primary key, from database sinks with `localKey` (keys of both systems). */
  localKey?: unknown
}
/** Sends the write-back; resolves false when the body expression gave nothing (skipped). */
export type WriteBack = (input: WriteBackInput, signal?: AbortSignal) => Promise<boolean>

/**
 * Writes the outcome back to the source (e.g. the on-prem id into a custom field). Every failure
 * is retryable: the delivery already happened, and its redelivery is harmless (idempotency key,
 * loop guard), while a lost write-back would leave the two systems apart.
 */
export function createWriteBack(config: WriteBackConfig, deps: { auth: Authenticator; key: string; now?: () => number }): WriteBack {
  const bodyOf = compileExpression(config.body, `${deps.key}.body`)
  const now = deps.now ?? Date.now
  return async (input, signal) => {
    const body = await bodyOf(input)
    if (body === undefined) return false
    const values = requestValues(input.request)
    const what = `write-back ${input.request.source} ${input.request.recordId}`
    const response = await deps.auth.send({
      what,
      url: renderTemplate(config.url, { ...scalarFields(body), ...values }, 'url'),
      method: config.method,
      headers: { 'content-type': 'application/json', accept: 'application/json', ...renderHeaders(config.headers, values) },
      body: JSON.stringify(body),
      timeoutMs: config.timeoutMs,
      ...(signal ? { signal } : {}),
    })
    if (response.status >= 200 && response.status < 300) return true
    const retryAfterSeconds = parseRetryAfter(response.headers['retry-after'], now())
    throw retryableError('agent.write_back_failed', `${what}: ${summariseResponse(response, deps.auth.secrets)}`, retryAfterSeconds === undefined ? {} : { retryAfterSeconds })
  }
}

/** Top-level strings, numbers and booleans of the body: the extra placeholders of the URL (`{externalId}`). */
function scalarFields(body: unknown): TemplateValues {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return {}
  return Object.fromEntries(Object.entries(body).filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value))) as TemplateValues
}

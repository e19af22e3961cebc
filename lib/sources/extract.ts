import type { ExtractConfig, VerifyConfig, VerifyScheme } from '../config/server-config.ts'
import { compileJsonata, type Expression } from '../expressions/compile-jsonata.ts'
import { bodyHashDeliveryId, providerDeliveryId } from './default-delivery-id.ts'
import { SourceError } from './source-error.ts'

/** What the ingest core needs from one webhook. */
export interface ExtractedEvent {
  recordIds: string[]
  recordType?: string
  event?: string
  deliveryId: string
}

/** A webhook as extraction sees it. Expressions are evaluated over `{ body, headers, query }`. */
export interface ExtractContext {
  body: unknown
  headers: Record<string, string>
  query: Record<string, string>
  rawBody: Buffer
}

export type Extractor = (ctx: ExtractContext) => Promise<ExtractedEvent>

type ExtractKey = keyof ExtractConfig

function compileExpression(key: ExtractKey, source: string): Expression {
  return compileJsonata(source, `extract.${key}`, (message, cause) => new SourceError('source.extract_failed', message, { cause }))
}

/** The distinct strings an expression gave (numbers become strings; null, "" and nothing are skipped). */
function stringsOf(key: ExtractKey, value: unknown): string[] {
  const found = new Set<string>()
  const visit = (item: unknown): void => {
    if (Array.isArray(item)) for (const element of item as unknown[]) visit(element)
    else if (typeof item === 'string' && item !== '') found.add(item)
    else if (typeof item === 'number' && Number.isFinite(item)) found.add(String(item))
    else if (item !== undefined && item !== null && item !== '') {
      throw new SourceError('source.extract_failed', `extract.${key} must give strings or numbers, not ${typeof item}`)
    }
  }
  visit(value)
  return [...found]
}

/** One value, or undefined; a batch that repeats the same value (e.g. one event name) counts once. */
function singleOf(key: ExtractKey, value: unknown): string | undefined {
  const values = stringsOf(key, value)
  if (values.length > 1) throw new SourceError('source.extract_failed', `extract.${key} gave ${values.length} different values; expected one`)
  return values[0]
}

/**
 * Compiles a source's extract config once (a bad expression is a ConfigError naming the key).
 * The extractor finds the record ids (one or a batch, deduplicated), type, event and delivery id,
 * the last defaulting to the provider's delivery id for the scheme, else a hash of the body.
 * Pass the whole verify config to let an hmac source default to its idHeader.
 */
export function compileExtractor(verify: VerifyScheme | VerifyConfig, extract: ExtractConfig): Extractor {
  const recordId = compileExpression('recordId', extract.recordId)
  const recordType = extract.recordType === undefined ? undefined : compileExpression('recordType', extract.recordType)
  const event = extract.event === undefined ? undefined : compileExpression('event', extract.event)
  const deliveryId = extract.deliveryId === undefined ? undefined : compileExpression('deliveryId', extract.deliveryId)

  return async function extractEvent({ body, headers, query, rawBody }) {
    const input = { body, headers, query }
    const recordIds = stringsOf('recordId', await recordId(input))
    if (recordIds.length === 0) {
      throw new SourceError('source.record_id_missing', 'extract.recordId found no record id in the webhook')
    }
    const type = recordType && singleOf('recordType', await recordType(input))
    const name = event && singleOf('event', await event(input))
    const configuredId = deliveryId && singleOf('deliveryId', await deliveryId(input))
    return {
      recordIds,
      ...(type ? { recordType: type } : {}),
      ...(name ? { event: name } : {}),
      deliveryId: configuredId || providerDeliveryId(verify, body, headers) || bodyHashDeliveryId(rawBody),
    }
  }
}

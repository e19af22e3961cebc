import jsonata from 'jsonata'
import type { ExtractConfig, VerifyConfig, VerifyScheme } from '../config/server-config.ts'
import { ConfigError } from '../errors.ts'
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

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const position = (error as { position?: unknown }).position
  return typeof position === 'number' ? `${error.message} (at position ${position})` : error.message
}

function compileExpression(key: ExtractKey, source: string): jsonata.Expression {
  try {
    return jsonata(source)
  } catch (error) {
    throw new ConfigError(`extract.${key}: invalid JSONata: ${errorMessage(error)}`, { cause: error })
  }
}

async function evaluate(key: ExtractKey, expression: jsonata.Expression, input: object): Promise<unknown> {
  try {
    return (await expression.evaluate(input)) as unknown
  } catch (error) {
    throw new SourceError('source.extract_failed', `extract.${key} failed: ${errorMessage(error)}`, { cause: error })
  }
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
    const recordIds = stringsOf('recordId', await evaluate('recordId', recordId, input))
    if (recordIds.length === 0) {
      throw new SourceError('source.record_id_missing', 'extract.recordId found no record id in the webhook')
    }
    const type = recordType && singleOf('recordType', await evaluate('recordType', recordType, input))
    const name = event && singleOf('event', await evaluate('event', event, input))
    const configuredId = deliveryId && singleOf('deliveryId', await evaluate('deliveryId', deliveryId, input))
    return {
      recordIds,
      ...(type ? { recordType: type } : {}),
      ...(name ? { event: name } : {}),
      deliveryId: configuredId || providerDeliveryId(verify, body, headers) || bodyHashDeliveryId(rawBody),
    }
  }
}

import type * as z from 'zod/mini'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { HookferryError } from '../errors.ts'
import { parseWithSchema } from '../config/zod.ts'

/** The request body as the exact bytes the sender signed (API Gateway base64-encodes binary bodies). */
export function rawBodyOf(event: APIGatewayProxyEventV2): Buffer {
  if (!event.body) return Buffer.alloc(0)
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8')
}

/** Header map with lower-case names (API Gateway v2 already lower-cases; the local server does too). */
export function headersOf(event: APIGatewayProxyEventV2): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = value
  return headers
}

export function queryOf(event: APIGatewayProxyEventV2): Record<string, string> {
  const query: Record<string, string> = {}
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) query[name] = value
  return query
}

/** Parses a JSON request body against a schema: 415/400 with a code and message on bad input. */
export function jsonBodyOf<T extends z.ZodMiniType>(event: APIGatewayProxyEventV2, schema: T): z.infer<T> {
  const contentType = headersOf(event)['content-type'] ?? ''
  if (contentType && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new HookferryError('request.unsupported_media_type', 'send the body as application/json', { statusCode: 415 })
  }
  let value: unknown
  try {
    value = JSON.parse(rawBodyOf(event).toString('utf8') || '{}')
  } catch {
    throw new HookferryError('request.invalid_json', 'the body is not valid JSON', { statusCode: 400 })
  }
  try {
    return parseWithSchema(schema, value, 'body')
  } catch (error) {
    throw new HookferryError('request.invalid', (error as Error).message, { statusCode: 400 })
  }
}

export function jsonResult(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }
}

import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { isHookferryError } from '../errors.ts'
import type { Log } from '../relay/deps.ts'

/**
 * The one place errors become HTTP: `{"error": {"code", "message"}}`. Exposed errors keep their
 * message; anything else is logged and answered with a generic 500, never a stack trace.
 */
export function errorResponse(error: unknown, log: Log): APIGatewayProxyStructuredResultV2 {
  if (isHookferryError(error) && error.expose) {
    if (error.statusCode >= 500) log.error(error.message, { code: error.code, cause: String(error.cause ?? '') })
    return {
      statusCode: error.statusCode,
      headers: { 'content-type': 'application/json', ...error.headers },
      body: JSON.stringify({ error: { code: error.code, message: error.message } }),
    }
  }
  log.error('unhandled error', { error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error) })
  return {
    statusCode: 500,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: { code: 'internal', message: 'internal error' } }),
  }
}

import type { LeaseGrant } from '../../relay/agent-api.ts'
import type { FetchConfig } from '../config.ts'
import { permanentError } from '../errors.ts'
import { compileExpression } from '../expression.ts'
import { httpFailure } from '../http-failure.ts'
import type { Authenticator } from './auth.ts'
import type { Connector, FetchResult } from './connector.ts'
import { renderHeaders, renderTemplate, requestValues } from './template.ts'

type HttpFetchConfig = Extract<FetchConfig, { type: 'http' }>

/**
 * Fetches a record from a SaaS REST (or GraphQL) API by id. 404 and 410 mean the record is gone
 * (a delete is delivered); 408, 429, 5xx and network errors are retried, honouring Retry-After;
 * any other status dead-letters the request with the status and the start of the body.
 */
export function createHttpConnector(config: HttpFetchConfig, deps: { auth: Authenticator; key: string; now?: () => number }): Connector {
  const select = config.select === undefined ? undefined : compileExpression(config.select, `${deps.key}.select`)
  const now = deps.now ?? Date.now
  return {
    async fetch(lease: LeaseGrant, signal?: AbortSignal): Promise<FetchResult> {
      const values = requestValues(lease)
      const what = `fetch ${lease.source} ${lease.recordType ? `${lease.recordType} ` : ''}${lease.recordId}`
      const response = await deps.auth.send({
        what,
        url: renderTemplate(config.url, values, 'url'),
        method: config.method,
        headers: { accept: 'application/json', ...(config.body === undefined ? {} : { 'content-type': 'application/json' }), ...renderHeaders(config.headers, values) },
        ...(config.body === undefined ? {} : { body: renderTemplate(config.body, values, 'json') }),
        timeoutMs: config.timeoutMs,
        ...(signal ? { signal } : {}),
      })
      if (response.status === 404 || response.status === 410) return { op: 'delete' }
      if (response.status < 200 || response.status >= 300) {
        throw httpFailure('agent.fetch_failed', what, response, { secrets: deps.auth.secrets, now: now() })
      }
      let body: unknown
      try {
        body = JSON.parse(response.text)
      } catch {
        throw permanentError('agent.fetch_failed', `${what}: HTTP ${response.status} but the body is not JSON`)
      }
      if (!select) return { op: 'upsert', record: body }
      const record = await select(body)
      // Safer to stop than to treat "nothing selected" as a delete: a wrong expression would wipe the destination.
      if (record === undefined) throw permanentError('agent.fetch_failed', `${what}: ${deps.key}.select found nothing in the response`)
      return { op: 'upsert', record }
    },
  }
}

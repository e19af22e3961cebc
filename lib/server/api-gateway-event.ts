import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda'

/** A route key like "POST /hooks/{source}" compiled to a matcher of method + path. */
export interface CompiledRoute {
  method: string
  routeKey: string
  match: (path: string) => Record<string, string> | undefined
}

export function compileRoute(routeKey: string): CompiledRoute {
  const [method, pattern] = routeKey.split(' ') as [string, string]
  const names: string[] = []
  const regex = new RegExp(
    `^${pattern.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)(\\\+)?\}/g, (_m, name: string, greedy?: string) => {
      names.push(name)
      // {name+} is API Gateway's greedy parameter: the rest of the path, slashes included.
      return greedy ? '(.*)' : '([^/]+)'
    })}$`,
  )
  return {
    method,
    routeKey,
    match: (path) => {
      const found = regex.exec(path)
      if (!found) return undefined
      return Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(found[index + 1]!)]))
    },
  }
}

/** Builds the API Gateway HTTP API (payload v2.0) event Lambda would receive for this request. */
export function toApiGatewayEvent(request: IncomingMessage, body: Buffer, route: CompiledRoute, pathParameters: Record<string, string>): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost')
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value
  }
  const query: Record<string, string> = {}
  for (const [name, value] of url.searchParams) query[name] = query[name] === undefined ? value : `${query[name]},${value}`
  const now = Date.now()
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: route.routeKey,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    // Always base64, as API Gateway does for binary: the handler sees the exact bytes that were signed.
    body: body.toString('base64'),
    isBase64Encoded: true,
  }
}

/** A minimal Lambda context for locally invoked handlers. */
export function localContext(functionName: string, timeoutSeconds: number, abortSignal?: AbortSignal): Context & { abortSignal?: AbortSignal } {
  const deadline = Date.now() + timeoutSeconds * 1000
  return {
    ...(abortSignal ? { abortSignal } : {}),
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/hookferry/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }
}

/** Writes a handler's structured result to the HTTP response. */
export function writeResult(response: ServerResponse, result: APIGatewayProxyStructuredResultV2 | undefined): void {
  const statusCode = result?.statusCode ?? 200
  const headers = { ...(result?.headers ?? {}) } as Record<string, string | number | boolean>
  const body = result?.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body
  response.writeHead(statusCode, Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)])))
  response.end(body)
}

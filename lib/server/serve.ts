import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda'
import { DEFAULT_HEADERS_TIMEOUT_MS, type ServerConfig } from '../config/server-config.ts'
import { errorResponse } from '../http/error-response.ts'
import { ROUTES } from '../http/routes.ts'
import { silentLog, type Log } from '../relay/deps.ts'
import { startScheduleTimer } from '../relay/sync/schedule-timer.ts'
import { installRuntime } from '../runtime/runtime.ts'
import { compileRoute, localContext, toApiGatewayEvent, writeResult, type CompiledRoute } from './api-gateway-event.ts'
import { jsonError, onClientError } from './client-errors.ts'
import { createLocalRuntime, type LocalRuntime } from './local-runtime.ts'
import { BodyTooLargeError, declaredLength, discardBody, readBody, RequestAbortedError } from './request-body.ts'

type HttpFunction = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>
type AnyFunction = (event: unknown, context: Context) => Promise<unknown>

/** Bodies of agent API calls may be larger than webhooks (batched acks with replies). */
const AGENT_BODY_LIMIT_IN_BYTES = 8 * 1024 * 1024
const REPAIR_INTERVAL_IN_MS = 60_000
const SWEEP_INTERVAL_IN_MS = 3_600_000
/**
 * Longer than the 60 s idle timeout of the usual proxies and load balancers (nginx, ALB), so the
 * proxy, never the server, closes an idle connection: otherwise a request the proxy sends just as
 * the server closes is lost with a 502.
 */
const KEEP_ALIVE_TIMEOUT_IN_MS = 65_000

export interface ServeOptions {
  config: ServerConfig
  dataDir: string
  host?: string
  /** 0 picks a free port. */
  port?: number
  log: Log
}

export interface RunningServer {
  url: string
  runtime: LocalRuntime
  close(): Promise<void>
}

/** Loads a handler module from functions/, from source (.ts) or from the build (.js) alike. */
async function loadFunction(fn: string): Promise<AnyFunction> {
  const extension = extname(fileURLToPath(import.meta.url))
  const module = (await import(new URL(`../../functions/${fn}${extension}`, import.meta.url).href)) as { handler: AnyFunction }
  return module.handler
}

/**
 * `hookferry serve`: the embedded default. One HTTP server turns requests into API Gateway v2
 * events and calls the very same handlers as Lambda, with SQLite adapters; timers stand in for
 * the cron and the dead-letter queue subscription.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const shutdown = new AbortController()
  const runtime = createLocalRuntime({ config: options.config, dataDir: options.dataDir, log: options.log, signal: shutdown.signal })
  installRuntime(runtime)

  const routes: { route: CompiledRoute; fn: string; timeoutSeconds: number; handler: HttpFunction }[] = []
  for (const spec of ROUTES) routes.push({ route: compileRoute(spec.route), fn: spec.fn, timeoutSeconds: spec.timeoutSeconds, handler: (await loadFunction(spec.fn)) as HttpFunction })
  const repair = await loadFunction('repair')
  const deadLetter = await loadFunction('dead-letter')

  const { requestTimeoutMs } = options.config.limits
  const headersTimeoutMs = Math.min(options.config.limits.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, requestTimeoutMs)
  const handle = async (request: IncomingMessage, response: ServerResponse, expectsContinue: boolean): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    if (request.method === 'GET' && path === '/healthz') return writeResult(response, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' })
    const candidates = routes.map((entry) => ({ entry, params: entry.route.match(path) })).filter((found) => found.params)
    const hit = candidates.find((found) => found.entry.route.method === request.method)
    if (!hit) {
      // A client waiting for "100 Continue" sends no body: close, so its unsent body is not read as the next request.
      if (expectsContinue) response.setHeader('connection', 'close')
      else discardBody(request)
      return writeResult(response, candidates.length > 0 ? jsonError(405, 'route.method_not_allowed', `${request.method} is not allowed on ${path}`) : jsonError(404, 'route.not_found', `no route for ${path}`))
    }
    const limit = hit.entry.fn === 'ingest' ? options.config.limits.maxBodyBytes : AGENT_BODY_LIMIT_IN_BYTES
    const tooLarge = () => jsonError(413, 'request.body_too_large', `body is larger than ${limit} bytes`)
    if (expectsContinue) {
      // Refused before the client sends a byte of the body (it waits for "100 Continue").
      if ((declaredLength(request) ?? 0) > limit) {
        response.setHeader('connection', 'close')
        return writeResult(response, tooLarge())
      }
      response.writeContinue()
    }
    let body: Buffer
    try {
      body = await readBody(request, limit)
    } catch (error) {
      // readBody goes on discarding the rest of the body, so the client gets to read this answer.
      if (error instanceof BodyTooLargeError) return writeResult(response, tooLarge())
      throw error
    }
    const event = toApiGatewayEvent(request, body, hit.entry.route, hit.params!)
    const callerGone = new AbortController()
    response.once('close', () => {
      if (!response.writableFinished) callerGone.abort()
    })
    writeResult(response, await hit.entry.handler(event, localContext(hit.entry.fn, hit.entry.timeoutSeconds, callerGone.signal)))
  }
  const serveRequest = (expectsContinue: boolean) => (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response, expectsContinue).catch((error: unknown) => {
      // The client's doing (it hung up, or was cut off by a timeout), not the server's: nobody is left to answer.
      if (error instanceof RequestAbortedError) {
        return options.log.debug('client went away before its request body was complete', { method: request.method, path: request.url, receivedBytes: error.receivedBytes, error: String(error.cause) })
      }
      options.log.error('local server failed a request', { error: String(error) })
      if (!response.headersSent) writeResult(response, errorResponse(error, silentLog))
      else response.destroy()
    })
  }
  const server: Server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: headersTimeoutMs,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_IN_MS,
      // Node checks the two timeouts every 30 s by default, which would let a stalled client stay well past them.
      connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs / 4),
    },
    serveRequest(false),
  )
  // With a listener, Node leaves "Expect: 100-continue" to us: an oversized body is refused before it is sent.
  server.on('checkContinue', serveRequest(true))
  server.on('clientError', onClientError(options.log, { requestTimeoutMs, headersTimeoutMs }))

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 8787, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address() as AddressInfo
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`

  const repairTimer = setInterval(() => {
    repair({}, localContext('repair', 60)).catch((error: unknown) => options.log.error('repair sweep failed', { error: String(error) }))
  }, REPAIR_INTERVAL_IN_MS)
  const stopSchedule = startScheduleTimer(runtime)
  const sweepTimer = setInterval(() => {
    try {
      runtime.ledger.sweepExpired()
    } catch (error) {
      options.log.error('retention sweep failed', { error: String(error) })
    }
  }, SWEEP_INTERVAL_IN_MS)
  const drain = drainDeadLetters(runtime, deadLetter as (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>, shutdown.signal)

  return {
    url,
    runtime,
    close: async () => {
      shutdown.abort()
      clearInterval(repairTimer)
      clearInterval(sweepTimer)
      await stopSchedule()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
        setTimeout(() => server.closeAllConnections(), 1_000).unref()
      })
      await drain
      runtime.close()
    },
  }
}

/** Stands in for the Lambda subscription on the SQS dead-letter queue. */
async function drainDeadLetters(runtime: LocalRuntime, handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const messages = await runtime.deadLetters.receive({ maxMessages: 10, waitSeconds: 20, visibilitySeconds: 60, signal })
      if (messages.length === 0) continue
      const event: SQSEvent = {
        Records: messages.map((message) => ({
          messageId: message.messageId,
          receiptHandle: message.receipt,
          body: message.body,
          attributes: { ApproximateReceiveCount: String(message.receiveCount), SentTimestamp: '', SenderId: 'local', ApproximateFirstReceiveTimestamp: '' },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:local:000000000000:dead-letters',
          awsRegion: 'local',
        })),
      }
      const result = await handler(event, localContext('dead-letter', 30))
      const failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier))
      for (const message of messages) if (!failed.has(message.messageId)) await runtime.deadLetters.delete(message.receipt)
    } catch (error) {
      if (signal.aborted) return
      runtime.log.error('dead-letter drain failed', { error: String(error) })
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    }
  }
}

import type { Dispatcher } from 'undici'
import { outageError, retryableError } from './errors.ts'
import { NodeHttpTransport, type TransportRequest, type TransportResponse } from './node-http-transport.ts'

export interface FetchInit {
  method: string
  headers: Record<string, string>
  body?: string
  signal: AbortSignal
  dispatcher?: Dispatcher
  redirect: 'follow'
}
/** What the agent needs of a fetch Response (undici's and the global one both fit). */
export interface FetchResponseLike {
  status: number
  headers: { forEach(callback: (value: string, key: string) => void): void }
  text(): Promise<string>
}
/** A fetch implementation: Node's own, or undici's behind a proxy. Tests and embedders may inject their own. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponseLike>

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'] as const
/** True when the environment names a proxy (NO_PROXY is honoured by the proxy-aware agent then). */
export const proxyConfigured = (env: NodeJS.ProcessEnv = process.env): boolean => PROXY_VARIABLES.some((name) => Boolean(env[name]))

interface Transport {
  send(request: TransportRequest): Promise<TransportResponse>
  close(): Promise<void> | void
}

/** A fetch (injected, or undici's behind a proxy) as a transport. */
function fetchTransport(fetch: FetchLike, dispatcher: Dispatcher | undefined, owned: boolean): Transport {
  return {
    send: async ({ url, method, headers, body, signal }) => {
      const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal, redirect: 'follow', ...(dispatcher ? { dispatcher } : {}) })
      const answer: Record<string, string> = {}
      response.headers.forEach((value, key) => (answer[key.toLowerCase()] = value))
      return { status: response.status, headers: answer, text: await response.text() }
    },
    close: async () => {
      if (owned) await dispatcher?.destroy()
    },
  }
}

export interface HttpRequest {
  /** What this call is for, in error messages: "fetch", "deliver", "write-back", "cloud pull". */
  what: string
  url: string
  method: string
  headers?: Record<string, string>
  body?: string
  timeoutMs: number
  signal?: AbortSignal
}
export interface HttpResponse {
  status: number
  /** Lower-case names. */
  headers: Record<string, string>
  text: string
}

/**
 * Every outbound call of the agent (cloud and SaaS) goes through here. Without a proxy it speaks
 * node:http(s) over keep-alive pools (node-http-transport.ts: a quarter of fetch's CPU per call).
 * When HTTPS_PROXY or HTTP_PROXY is set it uses undici's fetch with EnvHttpProxyAgent, so NO_PROXY
 * is honoured too (undici is loaded only then: it costs ~16 MB of RSS). Network failures and
 * timeouts become retryable AgentErrors whose message names the call but not its query string.
 */
export class HttpClient {
  readonly #transport: Promise<Transport>

  constructor(options: { fetch?: FetchLike; dispatcher?: Dispatcher } = {}) {
    if (options.fetch) this.#transport = Promise.resolve(fetchTransport(options.fetch, options.dispatcher, false))
    else if (options.dispatcher || proxyConfigured()) {
      const given = options.dispatcher
      this.#transport = import('undici').then(({ fetch, EnvHttpProxyAgent }) => fetchTransport(fetch as unknown as FetchLike, given ?? new EnvHttpProxyAgent(), given === undefined))
    } else this.#transport = Promise.resolve(new NodeHttpTransport())
  }

  /** Sends one request and reads the whole response body. */
  async request(request: HttpRequest): Promise<HttpResponse> {
    // One controller and one timer per request, both released when it ends: AbortSignal.timeout keeps
    // a timer for its whole timeout, and AbortSignal.any stays registered on the long-lived stop signal
    // (heap snapshots under load grew by thousands of each per 30 s).
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort(new DOMException('timed out', 'TimeoutError'))
    }, request.timeoutMs)
    const onAbort = (): void => controller.abort(request.signal!.reason)
    if (request.signal?.aborted) onAbort()
    else request.signal?.addEventListener('abort', onAbort, { once: true })
    const signal = controller.signal
    const label = `${request.what}: ${request.method} ${safeUrl(request.url)}`
    const transport = await this.#transport
    try {
      return await transport.send({ url: request.url, method: request.method, headers: request.headers ?? {}, ...(request.body === undefined ? {} : { body: request.body }), signal })
    } catch (error) {
      if (request.signal?.aborted) throw retryableError('agent.aborted', `${label} aborted (agent stopping)`, { cause: error })
      if (timedOut) throw outageError('agent.timeout', `${label} timed out after ${request.timeoutMs} ms`, { cause: error })
      throw outageError('agent.network_error', `${label} failed: ${networkReason(error)}`, { cause: error })
    } finally {
      clearTimeout(timer)
      request.signal?.removeEventListener('abort', onAbort)
    }
  }

  /**
   * Closes the connections this client created. Called last when the agent stops, once the acks
   * are out: whatever is still in flight then is no longer wanted.
   */
  async close(): Promise<void> {
    await (await this.#transport).close()
  }
}

/** Origin and path only: query strings may carry API keys. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return '(invalid URL)'
  }
}

function networkReason(error: unknown): string {
  const own = (error as { code?: unknown }).code
  if (typeof own === 'string' && own !== 'ABORT_ERR') return own
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  if (cause?.code) return cause.code
  if (cause?.message) return cause.message
  return error instanceof Error ? error.message : String(error)
}

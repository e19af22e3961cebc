import type { Dispatcher } from 'undici'
import { outageError, retryableError } from './errors.ts'

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
  fetch: FetchLike
  dispatcher?: Dispatcher
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
 * Every outbound call of the agent (cloud and SaaS) goes through here, so HTTPS_PROXY, HTTP_PROXY
 * and NO_PROXY are honoured everywhere (undici's EnvHttpProxyAgent, loaded only when a proxy is
 * named: Node's built-in fetch ignores those variables, and undici costs ~16 MB of RSS on top of
 * it). Network failures and timeouts become retryable AgentErrors whose message names the call
 * but not its query string.
 */
export class HttpClient {
  readonly #transport: Promise<Transport>
  readonly #ownsDispatcher: boolean

  constructor(options: { fetch?: FetchLike; dispatcher?: Dispatcher } = {}) {
    // An injected fetch brings its own transport; only undici's fetch gets the proxy-aware dispatcher.
    this.#ownsDispatcher = options.dispatcher === undefined && options.fetch === undefined && proxyConfigured()
    if (options.fetch) this.#transport = Promise.resolve({ fetch: options.fetch, ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) })
    else if (options.dispatcher || proxyConfigured()) {
      const given = options.dispatcher
      this.#transport = import('undici').then(({ fetch, EnvHttpProxyAgent }) => ({ fetch: fetch as unknown as FetchLike, dispatcher: given ?? new EnvHttpProxyAgent() }))
    } else this.#transport = Promise.resolve({ fetch: globalThis.fetch as unknown as FetchLike })
  }

  /** Sends one request and reads the whole response body. */
  async request(request: HttpRequest): Promise<HttpResponse> {
    const timeout = AbortSignal.timeout(request.timeoutMs)
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout
    const label = `${request.what}: ${request.method} ${safeUrl(request.url)}`
    const transport = await this.#transport
    try {
      const response = await transport.fetch(request.url, {
        method: request.method,
        headers: request.headers ?? {},
        ...(request.body === undefined ? {} : { body: request.body }),
        signal,
        redirect: 'follow',
        ...(transport.dispatcher ? { dispatcher: transport.dispatcher } : {}),
      })
      const headers: Record<string, string> = {}
      response.headers.forEach((value, key) => (headers[key.toLowerCase()] = value))
      return { status: response.status, headers, text: await response.text() }
    } catch (error) {
      if (request.signal?.aborted) throw retryableError('agent.aborted', `${label} aborted (agent stopping)`, { cause: error })
      if (timeout.aborted) throw outageError('agent.timeout', `${label} timed out after ${request.timeoutMs} ms`, { cause: error })
      throw outageError('agent.network_error', `${label} failed: ${networkReason(error)}`, { cause: error })
    }
  }

  /**
   * Closes the connections of the dispatcher this client created. Called last when the agent
   * stops, once the acks are out: whatever is still in flight then is no longer wanted.
   */
  async close(): Promise<void> {
    if (this.#ownsDispatcher) await (await this.#transport).dispatcher?.destroy()
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
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  if (cause?.code) return cause.code
  if (cause?.message) return cause.message
  return error instanceof Error ? error.message : String(error)
}

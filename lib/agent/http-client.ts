import { EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from 'undici'
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
/** A fetch implementation; undici's by default. Tests and embedders may inject their own. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponseLike>

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
 * and NO_PROXY are honoured everywhere (undici's EnvHttpProxyAgent). Network failures and
 * timeouts become retryable AgentErrors whose message names the call but not its query string.
 */
export class HttpClient {
  readonly #fetch: FetchLike
  readonly #dispatcher: Dispatcher | undefined
  readonly #ownsDispatcher: boolean

  constructor(options: { fetch?: FetchLike; dispatcher?: Dispatcher } = {}) {
    this.#fetch = options.fetch ?? (undiciFetch as unknown as FetchLike)
    // An injected fetch brings its own transport; only undici's fetch gets the proxy-aware dispatcher.
    this.#ownsDispatcher = options.dispatcher === undefined && options.fetch === undefined
    this.#dispatcher = options.dispatcher ?? (options.fetch === undefined ? new EnvHttpProxyAgent() : undefined)
  }

  /** Sends one request and reads the whole response body. */
  async request(request: HttpRequest): Promise<HttpResponse> {
    const timeout = AbortSignal.timeout(request.timeoutMs)
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout
    const label = `${request.what}: ${request.method} ${safeUrl(request.url)}`
    try {
      const response = await this.#fetch(request.url, {
        method: request.method,
        headers: request.headers ?? {},
        ...(request.body === undefined ? {} : { body: request.body }),
        signal,
        redirect: 'follow',
        ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
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
    if (this.#ownsDispatcher) await this.#dispatcher?.destroy()
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

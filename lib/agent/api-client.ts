import {
  AGENT_API_PREFIX,
  type AckItem,
  type AckResponse,
  type CheckpointRequest,
  type CheckpointResponse,
  type ExtendRequest,
  type ExtendResponse,
  type HeartbeatBody,
  type HeartbeatResponse,
  type PullRequest,
  type PullResponse,
} from '../relay/agent-api.ts'
import { permanentError, retryableError, type AgentError } from './errors.ts'
import { isRetryableStatus, parseRetryAfter } from './http-failure.ts'
import type { HttpClient, HttpResponse } from './http-client.ts'

/** Ack, extend and heartbeat calls answer quickly; give up on them after this. */
const REQUEST_TIMEOUT_IN_MS = 15_000
/** A long poll may take its whole wait plus the server's own work and the network. */
const PULL_MARGIN_IN_MS = 10_000

/**
 * Typed client of the Agent API v1 (lib/relay/agent-api.ts): POST {base}/agent/v1/pull | ack |
 * extend | checkpoint | heartbeat with the agent's bearer token. Failures are AgentErrors: retryable for
 * network trouble, 408/429/5xx (with Retry-After); not retryable for a rejected token
 * (`agent.token_rejected`) or a rejected call (`agent.cloud_rejected`, a bug on one side).
 */
export class AgentApiClient {
  readonly baseUrl: string
  readonly #token: string
  readonly #http: HttpClient
  readonly #now: () => number

  constructor(options: { baseUrl: string; token: string; http: HttpClient; now?: () => number }) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.#token = options.token
    this.#http = options.http
    this.#now = options.now ?? Date.now
  }

  /** Long-polls for leases; `signal` ends the poll early (agent stopping). */
  pull(request: PullRequest, signal?: AbortSignal): Promise<PullResponse> {
    return this.#call<PullResponse>('pull', request, request.waitSeconds * 1000 + PULL_MARGIN_IN_MS, signal)
  }

  ack(acks: AckItem[]): Promise<AckResponse> {
    return this.#call<AckResponse>('ack', { acks }, REQUEST_TIMEOUT_IN_MS)
  }

  extend(leases: ExtendRequest['leases']): Promise<ExtendResponse> {
    return this.#call<ExtendResponse>('extend', { leases }, REQUEST_TIMEOUT_IN_MS)
  }

  /** A sync run committed a chunk: records its progress (lease_lost: stop working on the run). */
  checkpoint(request: CheckpointRequest, signal?: AbortSignal): Promise<CheckpointResponse> {
    return this.#call<CheckpointResponse>('checkpoint', request, REQUEST_TIMEOUT_IN_MS, signal)
  }

  heartbeat(request: HeartbeatBody): Promise<HeartbeatResponse> {
    return this.#call<HeartbeatResponse>('heartbeat', request, REQUEST_TIMEOUT_IN_MS)
  }

  async #call<T>(operation: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    const url = `${this.baseUrl}${AGENT_API_PREFIX}/${operation}`
    const response = await this.#http.request({
      what: `cloud ${operation}`,
      url,
      method: 'POST',
      headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      timeoutMs,
      ...(signal ? { signal } : {}),
    })
    if (response.status >= 200 && response.status < 300) {
      try {
        return JSON.parse(response.text) as T
      } catch {
        throw retryableError('agent.cloud_bad_response', `cloud ${operation}: ${url} answered HTTP ${response.status} with a body that is not JSON`)
      }
    }
    throw this.#failure(operation, url, response)
  }

  #failure(operation: string, url: string, response: HttpResponse): AgentError {
    const detail = errorDetail(response)
    if (response.status === 401 || response.status === 403) {
      return permanentError('agent.token_rejected', `agent token rejected by ${this.baseUrl} (HTTP ${response.status}${detail}): check cloud.token and the agents list of the server`)
    }
    const message = `cloud ${operation}: ${url} answered HTTP ${response.status}${detail}`
    if (!isRetryableStatus(response.status)) return permanentError('agent.cloud_rejected', message)
    const retryAfterSeconds = parseRetryAfter(response.headers['retry-after'], this.#now())
    return retryableError('agent.cloud_unavailable', message, retryAfterSeconds === undefined ? {} : { retryAfterSeconds })
  }
}

/** ": code: message" from the cloud's `{"error": {"code", "message"}}` body, when there is one. */
function errorDetail(response: HttpResponse): string {
  try {
    const parsed = JSON.parse(response.text) as { error?: { code?: unknown; message?: unknown } }
    const { code, message } = parsed.error ?? {}
    if (typeof message === 'string') return `: ${typeof code === 'string' ? `${code}: ` : ''}${message.slice(0, 200)}`
  } catch {
    // not the cloud's error shape (a proxy's HTML page, say)
  }
  return ''
}

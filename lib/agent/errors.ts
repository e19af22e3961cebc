import { HookferryError } from '../errors.ts'

/**
 * A failure while the agent works on a request. `retryable` decides the ack: `retry` (the cloud
 * tries again later, after `retryAfterSeconds` when the far side said so) or `fail` (dead letter).
 * Messages never carry secrets: they go to logs and to the cloud's ledger.
 */
export class AgentError extends HookferryError {
  readonly retryable: boolean
  readonly retryAfterSeconds: number | undefined
  /**
   * The far side itself is unavailable (refused, reset, timed out, 502/503/504, 429, database
   * connection lost), whatever the record: an outage, not the record's fault. Such failures do
   * not spend the record's attempts; they feed the circuit breakers (circuit-breaker.ts).
   */
  readonly outage: boolean

  constructor(
    code: string,
    message: string,
    options: { retryable: boolean; retryAfterSeconds?: number; cause?: unknown; statusCode?: number; outage?: boolean },
  ) {
    super(code, message, { statusCode: options.statusCode ?? 502, cause: options.cause })
    this.name = 'AgentError'
    this.retryable = options.retryable
    this.retryAfterSeconds = options.retryAfterSeconds
    this.outage = options.retryable && (options.outage ?? false)
  }
}

/** Something worth retrying: the far side is down, slow or rate limiting. */
export function retryableError(code: string, message: string, options: { retryAfterSeconds?: number; cause?: unknown; outage?: boolean } = {}): AgentError {
  return new AgentError(code, message, { ...options, retryable: true })
}

/** The far side is unavailable (see AgentError.outage): retried without spending the record's attempts. */
export function outageError(code: string, message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}): AgentError {
  return new AgentError(code, message, { ...options, retryable: true, outage: true })
}

/** Something retrying cannot fix: the request is dead-lettered with this message (and can be replayed). */
export function permanentError(code: string, message: string, options: { cause?: unknown } = {}): AgentError {
  return new AgentError(code, message, { ...options, retryable: false })
}

export const isAgentError = (error: unknown): error is AgentError => error instanceof AgentError

/**
 * An error thrown by user code as an AgentError. The function may set `retryable` (boolean) and
 * `retryAfterSeconds` on what it throws; otherwise `retryableByDefault` decides.
 */
export function userFunctionError(error: unknown, code: string, what: string, retryableByDefault: boolean): AgentError {
  if (isAgentError(error)) return error
  const hints = (error ?? {}) as { retryable?: unknown; retryAfterSeconds?: unknown }
  const message = `${what}: ${error instanceof Error ? error.message : String(error)}`
  const retryable = typeof hints.retryable === 'boolean' ? hints.retryable : retryableByDefault
  if (!retryable) return permanentError(code, message, { cause: error })
  const retryAfterSeconds = typeof hints.retryAfterSeconds === 'number' ? hints.retryAfterSeconds : undefined
  return retryableError(code, message, { cause: error, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) })
}

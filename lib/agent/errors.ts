import { HookferryError } from '../errors.ts'

/**
 * A failure while the agent works on a request. `retryable` decides the ack: `retry` (the cloud
 * tries again later, after `retryAfterSeconds` when the far side said so) or `fail` (dead letter).
 * Messages never carry secrets: they go to logs and to the cloud's ledger.
 */
export class AgentError extends HookferryError {
  readonly retryable: boolean
  readonly retryAfterSeconds: number | undefined

  constructor(
    code: string,
    message: string,
    options: { retryable: boolean; retryAfterSeconds?: number; cause?: unknown; statusCode?: number },
  ) {
    super(code, message, { statusCode: options.statusCode ?? 502, cause: options.cause })
    this.name = 'AgentError'
    this.retryable = options.retryable
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/** Something worth retrying: the far side is down, slow or rate limiting. */
export function retryableError(code: string, message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}): AgentError {
  return new AgentError(code, message, { ...options, retryable: true })
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

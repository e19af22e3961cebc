/**
 * One root error for hookferry. Every error a user can see carries a stable dotted `code`
 * (`source.signature_invalid`), an HTTP `statusCode`, and `expose` (safe to show its message).
 * Errors are mapped to HTTP in exactly one place: lib/http/error-response.ts.
 */
export class HookferryError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly expose: boolean
  readonly headers: Record<string, string>

  constructor(
    code: string,
    message: string,
    options: { statusCode?: number; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'HookferryError'
    this.code = code
    this.statusCode = options.statusCode ?? 500
    this.expose = this.statusCode < 500 || this.statusCode === 503
    this.headers = options.headers ?? {}
  }
}

/** A problem with a config file: names the file, the key and what was expected. */
export class ConfigError extends HookferryError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('config.invalid', message, { statusCode: 500, ...options })
    this.name = 'ConfigError'
  }
}

/** The queue or ledger could not durably record work: the caller must retry (503). */
export class StorageUnavailableError extends HookferryError {
  constructor(message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super('storage.unavailable', message, {
      statusCode: 503,
      cause: options.cause,
      headers: { 'retry-after': String(options.retryAfterSeconds ?? 5) },
    })
    this.name = 'StorageUnavailableError'
  }
}

/** An optimistic write lost a race; adapters retry these internally before giving up. */
export class ConflictError extends HookferryError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('storage.conflict', message, { statusCode: 503, ...options })
    this.name = 'ConflictError'
  }
}

export const isHookferryError = (error: unknown): error is HookferryError => error instanceof HookferryError

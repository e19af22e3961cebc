import { pino, type DestinationStream, type Logger } from 'pino'

/** Wherever these keys appear in a log line (top level or one object down), the value is replaced. */
const REDACTED_KEYS = ['token', 'accessToken', 'access_token', 'authorization', 'password', 'secret', 'clientSecret', 'client_secret', 'apiKey', 'cookie']
const REDACT_PATHS = [
  ...REDACTED_KEYS,
  ...REDACTED_KEYS.map((key) => `*.${key}`),
  ...['authorization', 'cookie', 'x-api-key'].flatMap((header) => [`headers["${header}"]`, `*.headers["${header}"]`]),
]

/**
 * The pino logger (JSON lines) of every hookferry process — server and agent alike. Tokens,
 * Authorization headers, passwords and client secrets are redacted by key.
 */
export function createLogger(options: { name: string; level?: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination ?? pino.destination(1),
  )
}

import { pino, type Logger } from 'pino'
import type { Log } from '../relay/deps.ts'

/** A pino logger for hookferry processes; tokens and secrets are redacted wherever they appear. */
export function createPino(options: { level?: string; name: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'secret', '*.secret', 'clientSecret', '*.clientSecret'], censor: '[redacted]' },
    },
    options.destination ?? process.stdout,
  )
}

/** Adapts pino to the relay's Log interface (message first, fields second). */
export function pinoLog(logger: Logger): Log {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  }
}

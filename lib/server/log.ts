import type { Logger } from 'pino'
import type { Log } from '../relay/deps.ts'

/** Adapts pino to the relay's Log interface (message first, fields second). */
export function pinoLog(logger: Logger): Log {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  }
}

import type { DestinationStream, Logger } from 'pino'
import { createLogger } from '../logging/create-logger.ts'

/**
 * The agent's pino logger (see lib/logging/create-logger.ts for what is redacted); beyond that,
 * the agent never logs config blocks or request headers.
 */
export function createAgentLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return createLogger({ name: 'hookferry-agent', ...options })
}

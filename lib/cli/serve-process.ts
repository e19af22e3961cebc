import type { DestinationStream } from 'pino'
import type { ServerConfig } from '../config/server-config.ts'
import { HookferryError } from '../errors.ts'
import { createLogger } from '../logging/create-logger.ts'
import { pinoLog } from '../server/log.ts'
import { startServer, type RunningServer } from '../server/serve.ts'

export interface ServeProcessOptions {
  config: ServerConfig
  dataDir: string
  host?: string
  port: number
  logLevel?: string
  /** Where the JSON log lines go: stdout for `hookferry serve`, serve.log for the demo. */
  destination: DestinationStream
  /** Shown when the port is taken: how to pick another one. */
  portHint: string
}

/**
 * The cloud half as `hookferry serve` runs it, with its log lines: "listening" once it is up and
 * "stopped" once `close()` has finished. `hookferry serve` and the demo share it, so the demo's
 * serve.log holds what `hookferry serve` would print.
 */
export async function startServeProcess(options: ServeProcessOptions): Promise<RunningServer> {
  const log = pinoLog(createLogger({ name: 'hookferry-serve', level: options.logLevel ?? 'info', destination: options.destination }))
  let server: RunningServer
  try {
    server = await startServer({ config: options.config, dataDir: options.dataDir, ...(options.host ? { host: options.host } : {}), port: options.port, log })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new HookferryError('serve.port_in_use', `port ${options.port} is already in use: stop what runs there or pick another port (${options.portHint})`, { statusCode: 400 })
    }
    throw error
  }
  log.info('hookferry serve is listening', {
    webhookUrl: `${server.url}/hooks/{source}`,
    agentApiUrl: server.url,
    sources: Object.keys(options.config.sources),
    dataDir: options.dataDir,
  })
  return {
    ...server,
    close: async () => {
      await server.close()
      log.info('hookferry serve stopped', { dataDir: options.dataDir })
    },
  }
}

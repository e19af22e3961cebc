import { resolve } from 'node:path'
import type { Command } from 'commander'
import { loadYamlConfig } from '../../config/load-yaml.ts'
import { serverConfigSchema } from '../../config/server-config.ts'
import { createLogger } from '../../logging/create-logger.ts'
import { pinoLog } from '../../server/log.ts'
import { startServer } from '../../server/serve.ts'
import { onShutdown } from '../shutdown.ts'

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the cloud half on this machine (embedded default: SQLite queue and ledger).')
    .option('-c, --config <file>', 'server config file', 'hookferry.yaml')
    .option('-d, --data-dir <dir>', 'where the SQLite database lives', '.hookferry')
    .option('-H, --host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on (0: any free port)', '8787')
    .option('--log-level <level>', 'debug | info | warn | error', 'info')
    .action(async (options: { config: string; dataDir: string; host: string; port: string; logLevel: string }) => {
      const config = loadYamlConfig(serverConfigSchema, options.config)
      const log = pinoLog(createLogger({ name: 'hookferry-serve', level: options.logLevel, destination: process.stdout }))
      const server = await startServer({ config, dataDir: resolve(options.dataDir), host: options.host, port: Number(options.port), log })
      log.info('hookferry serve is listening', {
        webhookUrl: `${server.url}/hooks/{source}`,
        agentApiUrl: server.url,
        sources: Object.keys(config.sources),
        dataDir: resolve(options.dataDir),
      })
      // The same, for a person at the terminal (stdout carries the JSON log).
      console.error(`hookferry serve: webhooks at ${server.url}/hooks/{source} (${Object.keys(config.sources).join(', ')}), agent API at ${server.url}/agent/v1. Ctrl-C stops.`)
      onShutdown(() => server.close())
    })
}

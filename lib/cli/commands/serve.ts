import { resolve } from 'node:path'
import { pino } from 'pino'
import type { Command } from 'commander'
import { loadYamlConfig } from '../../config/load-yaml.ts'
import { serverConfigSchema } from '../../config/server-config.ts'
import { startServeProcess } from '../serve-process.ts'
import { onShutdown } from '../shutdown.ts'
import { intWithin } from './admin-client.ts'

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the cloud half on this machine (embedded default: SQLite queue and ledger).')
    .option('-c, --config <file>', 'server config file', 'hookferry.yaml')
    .option('-d, --data-dir <dir>', 'where the SQLite database lives', '.hookferry')
    .option('-H, --host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on (0: any free port)', intWithin(0, 65_535), 8787)
    .option('--log-level <level>', 'debug | info | warn | error', 'info')
    .action(async (options: { config: string; dataDir: string; host: string; port: number; logLevel: string }) => {
      const config = loadYamlConfig(serverConfigSchema, options.config)
      const starting = startServeProcess({
        config,
        dataDir: resolve(options.dataDir),
        host: options.host,
        port: options.port,
        logLevel: options.logLevel,
        // Synchronous, so the "stopped" line is written before the process exits.
        destination: pino.destination({ dest: 1, sync: true }),
        portHint: `hookferry serve --port ${options.port + 1}`,
      })
      // Listening for signals before the "listening" line: whoever waits for it may stop us at once.
      onShutdown(async () => {
        await (await starting).close()
        console.error('hookferry serve: stopped')
      })
      const server = await starting
      // The same, for a person at the terminal (stdout carries the JSON log).
      console.error(`hookferry serve: webhooks at ${server.url}/hooks/{source} (${Object.keys(config.sources).join(', ')}), agent API at ${server.url}/agent/v1${config.adminTokenSha256 === undefined ? '' : `, dashboard at ${server.url}/ui/`}. Ctrl-C stops.`)
    })
}

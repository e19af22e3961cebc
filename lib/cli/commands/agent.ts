import type { Command } from 'commander'
import { startAgent } from '../../agent/agent.ts'
import { loadAgentConfig } from '../../agent/load-agent-config.ts'
import { ConfigError } from '../../errors.ts'
import { onShutdown } from '../shutdown.ts'
import { packageVersion } from '../../version.ts'

/** `hookferry agent`: runs the on-prem agent until SIGTERM/SIGINT, then stops gracefully. */
export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('Run the on-prem agent: poll the cloud, fetch records, deliver them on-prem (outbound HTTPS only).')
    .option('-c, --config <file>', 'agent config file', 'agent.yaml')
    .action(async (options: { config: string }) => {
      try {
        const agent = await startAgent(loadAgentConfig(options.config), { version: packageVersion() })
        onShutdown(() => agent.stop())
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error
        // One line, no stack trace: file, key and what was expected (the first problem if several).
        const [first, ...rest] = error.message.split('\n')
        console.error(`hookferry: ${first}${rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : ''}`)
        process.exit(2)
      }
    })
}

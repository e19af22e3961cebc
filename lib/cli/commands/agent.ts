import type { Command } from 'commander'
import { startAgent } from '../../agent/agent.ts'
import { loadAgentConfig } from '../../agent/load-agent-config.ts'
import { settleAgentHeap } from '../../agent/sync/heap-growth.ts'
import { onShutdown } from '../shutdown.ts'
import { packageVersion } from '../../version.ts'

/** `hookferry agent`: runs the on-prem agent until SIGTERM/SIGINT, then stops gracefully. */
export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('Run the on-prem agent: poll the cloud, fetch records, deliver them on-prem (outbound HTTPS only).')
    .option('-c, --config <file>', 'agent config file', 'agent.yaml')
    .action(async (options: { config: string }) => {
      // A config error reaches main(), which prints every problem (file, key, what was expected) and exits 2.
      const starting = startAgent(loadAgentConfig(options.config), { version: packageVersion() })
      // Listening for signals before the "started" line: whoever waits for it may stop us at once.
      onShutdown(async () => (await starting).stop())
      await starting
      // This process is the agent and nothing else: size V8's heap for it (see heap-growth.ts).
      settleAgentHeap()
    })
}

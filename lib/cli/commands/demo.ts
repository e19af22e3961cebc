import type { Command } from 'commander'
import { runDemo } from '../../demo/run-demo.ts'
import { onShutdown } from '../shutdown.ts'
import { intWithin } from './admin-client.ts'

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Run everything on this machine and watch records travel: cloud half, agent, a demo SaaS and a demo sink (what `npm start` runs).')
    .option('-p, --port <port>', 'port of the cloud half (0: any free port)', intWithin(0, 65_535), 8787)
    .option('-d, --data-dir <dir>', 'where the demo keeps its configs, database and logs (wiped at start)', '.hookferry/demo')
    .option('--no-auto-changes', 'do not let the demo SaaS change customers on its own')
    .action(async (options: { port: number; dataDir: string; autoChanges: boolean }) => {
      const starting = runDemo({
        dataDir: options.dataDir,
        port: options.port,
        autoChanges: options.autoChanges,
        say: (line) => console.log(line),
      })
      onShutdown(async () => (await starting).stop())
      await starting
    })
}

import { Command } from 'commander'
import { describeFailure } from './cli-errors.ts'
import { packageVersion } from '../version.ts'

type Register = (program: Command) => void

/**
 * The modules that add each command, imported only when needed: `hookferry agent` is a long-lived
 * process, and the server, the admin client and the demo it never runs would stay in its memory
 * for good (about 5 MB of RSS, measured in block 5 of `npm run bench`).
 */
const loadAgentCommand = async (): Promise<Register[]> => [(await import('./commands/agent.ts')).registerAgentCommand]
const loadAllCommands = async (): Promise<Register[]> => {
  const [serve, agent, send, token, demo, requests, deadLetters, agents, syncs] = await Promise.all([
    import('./commands/serve.ts'),
    import('./commands/agent.ts'),
    import('./commands/send.ts'),
    import('./commands/token.ts'),
    import('./commands/demo.ts'),
    import('./commands/admin-requests.ts'),
    import('./commands/admin-dead-letters.ts'),
    import('./commands/admin-agents.ts'),
    import('./commands/admin-syncs.ts'),
  ])
  return [
    serve.registerServeCommand,
    agent.registerAgentCommand,
    send.registerSendCommand,
    token.registerTokenCommand,
    demo.registerDemoCommand,
    requests.registerAdminRequestCommands,
    deadLetters.registerAdminDeadLetterCommands,
    agents.registerAdminAgentCommands,
    syncs.registerAdminSyncCommands,
  ]
}

/**
 * Builds the hookferry command line. Commander's own errors (unknown option, invalid or missing
 * option value) are thrown, not exited on, and print as `hookferry: <what went wrong>` with the
 * command's help hint on the same line: `main` then exits 2 like any other usage error.
 *
 * For `hookferry agent …` (argv as process.argv) only the agent command is added: what it parses,
 * prints for --help and refuses is the same with or without its siblings. Anything else (no
 * command, a root option, another command) gets them all, so the root help lists every command.
 */
export async function createProgram(argv: readonly string[] = []): Promise<Command> {
  // Set before the subcommands are added, so they inherit it.
  const program = new Command('hookferry')
    .exitOverride()
    .description('Carry SaaS webhooks to on-premise systems through an outbound-only agent.')
    .version(packageVersion())
  for (const register of await (argv[2] === 'agent' ? loadAgentCommand() : loadAllCommands())) register(program)
  for (const command of withSubcommands(program)) {
    const help = command === program ? 'hookferry --help' : `hookferry ${commandPath(command)} --help`
    command.configureOutput({ outputError: (text, write) => write(`hookferry: ${text.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see "${help}")\n`) })
  }
  return program
}

/** The command and every command below it (`sync start` is two levels down). */
function withSubcommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(withSubcommands)]
}

/** `sync start` for the start subcommand of sync (the root's name left out). */
function commandPath(command: Command): string {
  const names: string[] = []
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name())
  return names.join(' ')
}

/**
 * Runs the CLI. Every failure goes through here: one `hookferry: …` line per problem on stderr,
 * then exit 2 (usage, config, bad input) or 1 (the server refused or failed, or was unreachable).
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await (await createProgram(argv)).parseAsync(argv)
  } catch (error) {
    const { exitCode, lines } = describeFailure(error)
    for (const line of lines) console.error(`hookferry: ${line}`)
    process.exit(exitCode)
  }
}

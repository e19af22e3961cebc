import { Command } from 'commander'
import { describeFailure } from './cli-errors.ts'
import { registerAdminAgentCommands } from './commands/admin-agents.ts'
import { registerAdminDeadLetterCommands } from './commands/admin-dead-letters.ts'
import { registerAdminRequestCommands } from './commands/admin-requests.ts'
import { registerAdminSyncCommands } from './commands/admin-syncs.ts'
import { registerAgentCommand } from './commands/agent.ts'
import { registerDemoCommand } from './commands/demo.ts'
import { registerSendCommand } from './commands/send.ts'
import { registerServeCommand } from './commands/serve.ts'
import { registerTokenCommand } from './commands/token.ts'
import { packageVersion } from '../version.ts'

/**
 * Builds the hookferry command line. Commander's own errors (unknown option, invalid or missing
 * option value) are thrown, not exited on, and print as `hookferry: <what went wrong>` with the
 * command's help hint on the same line: `main` then exits 2 like any other usage error.
 */
export function createProgram(): Command {
  // Set before the subcommands are added, so they inherit it.
  const program = new Command('hookferry')
    .exitOverride()
    .description('Carry SaaS webhooks to on-premise systems through an outbound-only agent.')
    .version(packageVersion())
  registerServeCommand(program)
  registerAgentCommand(program)
  registerSendCommand(program)
  registerTokenCommand(program)
  registerDemoCommand(program)
  registerAdminRequestCommands(program)
  registerAdminDeadLetterCommands(program)
  registerAdminAgentCommands(program)
  registerAdminSyncCommands(program)
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
    await createProgram().parseAsync(argv)
  } catch (error) {
    const { exitCode, lines } = describeFailure(error)
    for (const line of lines) console.error(`hookferry: ${line}`)
    process.exit(exitCode)
  }
}

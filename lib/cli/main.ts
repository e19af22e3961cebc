import { Command, CommanderError } from 'commander'
import { isHookferryError } from '../errors.ts'
import { registerAdminAgentCommands } from './commands/admin-agents.ts'
import { registerAdminDeadLetterCommands } from './commands/admin-dead-letters.ts'
import { registerAdminRequestCommands } from './commands/admin-requests.ts'
import { registerAgentCommand } from './commands/agent.ts'
import { registerDemoCommand } from './commands/demo.ts'
import { registerSendCommand } from './commands/send.ts'
import { registerServeCommand } from './commands/serve.ts'
import { registerTokenCommand } from './commands/token.ts'
import { packageVersion } from '../version.ts'

/** Builds the hookferry command line. */
export function createProgram(): Command {
  const program = new Command('hookferry')
    .description('Carry SaaS webhooks to on-premise systems through an outbound-only agent.')
    .version(packageVersion())
    .showHelpAfterError('(run "hookferry --help" for usage)')
  registerServeCommand(program)
  registerAgentCommand(program)
  registerSendCommand(program)
  registerTokenCommand(program)
  registerDemoCommand(program)
  registerAdminRequestCommands(program)
  registerAdminDeadLetterCommands(program)
  registerAdminAgentCommands(program)
  return program
}

/** Runs the CLI. Expected failures print one line (what, where, what was expected) and exit 2. */
export async function main(argv: string[]): Promise<void> {
  const program = createProgram().exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode)
    if (isHookferryError(error) && (error.expose || error.code === 'config.invalid')) {
      console.error(`hookferry: ${error.message}`)
      process.exit(2)
    }
    console.error(`hookferry: unexpected error: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  }
}

import { randomBytes } from 'node:crypto'
import type { Command } from 'commander'
import { sha256Hex } from '../../relay/agent-auth.ts'

export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('Create a random agent (or admin) token and print the SHA-256 the server config stores.')
    .option('--id <id>', 'agent id to print the config entry for', 'onprem-1')
    .option('--admin', 'make an admin API token instead of an agent token')
    .action((options: { id: string; admin?: boolean }) => {
      const token = `${options.admin ? 'hfx' : 'hfa'}_${randomBytes(32).toString('base64url')}`
      if (options.admin) {
        console.log(`admin token (for the CLI: HOOKFERRY_ADMIN_TOKEN; it is shown only now):\n  ${token}\n`)
        console.log(`server config entry (hookferry.yaml):\nadminTokenSha256: ${sha256Hex(token)}`)
        return
      }
      console.log(`token (give it to the agent, e.g. HOOKFERRY_AGENT_TOKEN; it is shown only now):\n  ${token}\n`)
      console.log(`server config entry (hookferry.yaml):\nagents:\n  - id: ${options.id}\n    tokenSha256: ${sha256Hex(token)}`)
    })
}

import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { loadYamlConfig } from '../../config/load-yaml.ts'
import { serverConfigSchema } from '../../config/server-config.ts'
import { HookferryError } from '../../errors.ts'
import { signWebhook } from '../../sources/sign.ts'

export interface SendOptions {
  config: string
  source: string
  url: string
  data?: string
  file?: string
  contentType: string
}

/** Signs a webhook body the way the source's provider would, and posts it. */
export async function sendWebhook(options: SendOptions): Promise<{ status: number; body: string }> {
  const config = loadYamlConfig(serverConfigSchema, options.config)
  const source = Object.hasOwn(config.sources, options.source) ? config.sources[options.source] : undefined
  if (!source) throw new HookferryError('cli.unknown_source', `${options.config}: sources: no source named "${options.source}" (have: ${Object.keys(config.sources).join(', ') || 'none'})`, { statusCode: 400 })
  const raw = Buffer.from(options.file ? readFileSync(options.file) : (options.data ?? '{}'))
  const headers = { 'content-type': options.contentType, ...signWebhook(source.verify, raw, { now: new Date(), id: `msg_${randomUUID()}` }) }
  const target = `${options.url.replace(/\/+$/, '')}/hooks/${encodeURIComponent(options.source)}`
  let response: Response
  try {
    response = await fetch(target, { method: 'POST', headers, body: raw })
  } catch (error) {
    throw new HookferryError('cli.unreachable', `cannot reach ${target}: ${(error as Error).cause ? String((error as Error & { cause: unknown }).cause) : (error as Error).message}`, { statusCode: 400 })
  }
  return { status: response.status, body: await response.text() }
}

export function registerSendCommand(program: Command): void {
  program
    .command('send')
    .description('Sign a webhook body with a source\'s secret (as its provider would) and post it to a hookferry server.')
    .requiredOption('-s, --source <name>', 'source name from the server config')
    .option('-c, --config <file>', 'server config file (for the source\'s secret and scheme)', 'hookferry.yaml')
    .option('-u, --url <url>', 'hookferry base URL', 'http://127.0.0.1:8787')
    .option('--data <json>', 'body to send (default {})')
    .option('--file <path>', 'read the body from a file')
    .option('--content-type <type>', 'content type of the body', 'application/json')
    .action(async (options: SendOptions) => {
      const result = await sendWebhook(options)
      console.log(`${result.status} ${result.body}`)
      if (result.status >= 400) process.exitCode = 1
    })
}

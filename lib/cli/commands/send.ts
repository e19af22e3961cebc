import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { loadYamlConfig } from '../../config/load-yaml.ts'
import { serverConfigSchema, type VerifyScheme } from '../../config/server-config.ts'
import { HookferryError } from '../../errors.ts'
import { signWebhook } from '../../sources/sign.ts'
import { RemoteError, unreachableError } from '../cli-errors.ts'
import { printLine, processIo, serverUrlFrom, type CliIo } from './admin-client.ts'

/** The header a provider names the event in, for the schemes whose provider has one. */
export const EVENT_HEADERS: Partial<Record<VerifyScheme, string>> = {
  github: 'x-github-event',
  shopify: 'x-shopify-topic',
}

/** Where the other providers put the event name, for the refusal of --event. */
const EVENT_IN_BODY: Partial<Record<VerifyScheme, string>> = {
  stripe: 'Stripe\'s "type"',
  slack: '"event.type"',
  'standard-webhooks': '"type"',
}

export interface SendOptions {
  config: string
  source: string
  url?: string
  data?: string
  file?: string
  contentType?: string
  event?: string
  header: Record<string, string>
}

/** A commander parser for a repeatable `--header name:value`; later ones win. */
export function collectHeader(value: string, headers: Record<string, string>): Record<string, string> {
  const colon = value.indexOf(':')
  const name = colon > 0 ? value.slice(0, colon).trim().toLowerCase() : ''
  if (!/^[!#$%&'*+.^`|~\w-]+$/.test(name)) throw new InvalidArgumentError('expected name:value, e.g. "x-github-event: issues"')
  return { ...headers, [name]: value.slice(colon + 1).trim() }
}

// A body read from a .xml file (Salesforce outbound messages) is XML; anything else defaults to JSON.
const defaultContentType = (file: string | undefined) => (file !== undefined && extname(file).toLowerCase() === '.xml' ? 'text/xml; charset=utf-8' : 'application/json')

/** Signs a webhook body the way the source's provider would, adds the event and extra headers, and posts it. */
export async function sendWebhook(options: SendOptions, io: CliIo = processIo): Promise<{ status: number; body: string }> {
  const config = loadYamlConfig(serverConfigSchema, options.config, io.env)
  const source = Object.hasOwn(config.sources, options.source) ? config.sources[options.source] : undefined
  if (!source) throw new HookferryError('cli.unknown_source', `${options.config}: sources: no source named "${options.source}" (have: ${Object.keys(config.sources).join(', ') || 'none'})`, { statusCode: 400 })
  const eventHeader = EVENT_HEADERS[source.verify.scheme]
  if (options.event !== undefined && eventHeader === undefined) {
    const where = EVENT_IN_BODY[source.verify.scheme]
    const why = where ? `its provider names the event in the body (${where})` : 'it has no provider event header'
    throw new HookferryError('cli.usage', `--event: source "${options.source}" uses the ${source.verify.scheme} scheme, and ${why}: put the event in the body, or send your own header with --header name:value`, { statusCode: 400 })
  }
  let raw: Buffer
  try {
    raw = options.file !== undefined ? readFileSync(options.file) : Buffer.from(options.data ?? '{}')
  } catch (error) {
    throw new HookferryError('cli.bad_input', `--file ${options.file}: cannot read it: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message}`, { statusCode: 400 })
  }
  const headers = {
    'content-type': options.contentType ?? defaultContentType(options.file),
    ...signWebhook(source.verify, raw, { now: io.now(), id: `msg_${randomUUID()}` }),
    ...(options.event !== undefined && eventHeader !== undefined ? { [eventHeader]: options.event } : {}),
    // Last, so a test can also send a wrong signature on purpose.
    ...options.header,
  }
  const target = `${serverUrlFrom(options.url, io.env)}/hooks/${encodeURIComponent(options.source)}`
  let response: Response
  try {
    response = await (io.fetch ?? fetch)(target, { method: 'POST', headers, body: raw })
  } catch (error) {
    throw unreachableError(target, error)
  }
  return { status: response.status, body: await response.text() }
}

/** "401 source.signature_invalid: …" from an error answer, or the bare status. */
function describeRefusal({ status, body }: { status: number; body: string }): string {
  try {
    const { error } = JSON.parse(body) as { error?: { code?: string; message?: string } }
    if (error?.code) return `the server answered ${status} ${error.code}: ${error.message ?? ''}`.trimEnd()
  } catch {
    // not JSON: the status says enough
  }
  return `the server answered ${status}`
}

/** `hookferry send`: prints the server's answer ("202 {…}"); a 4xx/5xx answer exits 1. */
export function registerSendCommand(program: Command, io: CliIo = processIo): void {
  program
    .command('send')
    .description('Sign a webhook body with a source\'s secret (as its provider would) and post it to a hookferry server.')
    .requiredOption('-s, --source <name>', 'source name from the server config')
    .option('-c, --config <file>', 'server config file (for the source\'s secret and scheme)', 'hookferry.yaml')
    .option('-u, --url <url>', 'hookferry base URL (default: $HOOKFERRY_URL or http://127.0.0.1:8787)')
    .option('--data <json>', 'body to send (default {})')
    .option('--file <path>', 'read the body from a file (e.g. examples/payloads/github.json)')
    .option('--content-type <type>', 'content type of the body (default: text/xml for a .xml file, else application/json)')
    .option('--event <name>', `the provider's event header: ${Object.entries(EVENT_HEADERS).map(([scheme, header]) => `${header} (${scheme})`).join(', ')}`)
    .option('-H, --header <name:value>', 'an extra header, repeatable; wins over the signed ones', collectHeader, {})
    .action(async (options: SendOptions) => {
      const result = await sendWebhook(options, io)
      printLine(io, `${result.status} ${result.body}`)
      if (result.status >= 400) throw new RemoteError('cli.refused', describeRefusal(result), { statusCode: result.status < 500 ? result.status : 400 })
    })
}

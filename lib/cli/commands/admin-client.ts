import { InvalidArgumentError, type Command } from 'commander'
import { HookferryError } from '../../errors.ts'
import { RemoteError, unreachableError } from '../cli-errors.ts'

/** Where admin commands write and read their surroundings; tests pass their own. */
export interface CliIo {
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown; isTTY?: boolean }
  env: NodeJS.ProcessEnv
  now(): Date
  fetch?: typeof fetch
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, now: () => new Date() }

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8787'

export interface ConnectionOptions {
  url?: string
  token?: string
  json?: boolean
}

export const printLine = (io: CliIo, text: string): void => {
  io.stdout.write(`${text}\n`)
}

/** --url, --token and --json, shared by every admin command. Defaults are read at run time so help never shows a token. */
export function withConnectionOptions(command: Command): Command {
  return command
    .option('-u, --url <url>', `hookferry base URL (default: $HOOKFERRY_URL or ${DEFAULT_ADMIN_URL})`)
    .option('--token <token>', 'admin token (default: $HOOKFERRY_ADMIN_TOKEN; prefer the variable: arguments show in ps)')
    .option('--json', 'print JSON for scripts instead of tables')
}

export interface AdminClient {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>
  post<T>(path: string, body?: unknown): Promise<T>
}

/** The hookferry server's base URL: --url, else $HOOKFERRY_URL, else the local default (what every command uses). */
export function serverUrlFrom(url: string | undefined, env: NodeJS.ProcessEnv): string {
  return (url ?? (env.HOOKFERRY_URL || undefined) ?? DEFAULT_ADMIN_URL).replace(/\/+$/, '')
}

/** An admin API client from the command's options and environment; fails early without a token. */
export function adminClientFor(options: ConnectionOptions, io: CliIo): AdminClient {
  const url = serverUrlFrom(options.url, io.env)
  const token = options.token ?? io.env.HOOKFERRY_ADMIN_TOKEN
  if (!token) throw new HookferryError('cli.missing_token', 'no admin token: set HOOKFERRY_ADMIN_TOKEN (or pass --token)', { statusCode: 400 })
  return createAdminClient({ url, token, ...(io.fetch ? { fetch: io.fetch } : {}) })
}

/** Calls the admin API; every failure becomes one readable line (a RemoteError: the CLI prints it and exits 1). */
export function createAdminClient({ url, token, fetch: fetchImpl = globalThis.fetch }: { url: string; token: string; fetch?: typeof fetch }): AdminClient {
  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const target = `${url}${path}`
    let response: Response
    try {
      response = await fetchImpl(target, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch (error) {
      throw unreachableError(url, error)
    }
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new RemoteError('cli.bad_response', `${target} answered HTTP ${response.status} without JSON: is ${url} a hookferry server?`)
    }
    if (response.ok) return parsed as T
    const { code = 'http.error', message = `HTTP ${response.status}` } = (parsed as { error?: { code?: string; message?: string } }).error ?? {}
    const hint = response.status === 401 ? ' (check HOOKFERRY_ADMIN_TOKEN or --token)' : ''
    throw new RemoteError(code, `${message}${hint}`, { statusCode: response.status < 500 ? response.status : 400 })
  }
  return {
    get: (path, query = {}) => {
      const search = new URLSearchParams()
      for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value))
      return call('GET', search.size > 0 ? `${path}?${search}` : path)
    },
    post: (path, body) => call('POST', path, body),
  }
}

const RELATIVE_TIME = /^(\d+)\s*(s|m|h|d)$/
const UNIT_IN_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const

/** Parses --since/--until: an ISO time, or a span back from now such as 30m, 2h, 7d. */
export function parseTimeOption(value: string, now: Date): string {
  const relative = RELATIVE_TIME.exec(value.trim())
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNIT_IN_SECONDS[relative[2] as keyof typeof UNIT_IN_SECONDS] * 1000).toISOString()
  const time = Date.parse(value)
  if (Number.isNaN(time)) throw new InvalidArgumentError('expected an ISO time (2026-01-31T12:00:00Z) or a span back from now (30m, 2h, 7d)')
  return new Date(time).toISOString()
}

/** A commander parser for a whole number within min..max. */
export function intWithin(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value)
    if (!Number.isInteger(number) || number < min || number > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`)
    return number
  }
}

/** Prints `value` as JSON (for --json). */
export function printJson(io: CliIo, value: unknown): void {
  printLine(io, JSON.stringify(value, null, 2))
}

import { CommanderError } from 'commander'
import { isHookferryError, HookferryError } from '../errors.ts'

/**
 * The exit codes of every hookferry command (README, "Exit codes"). 2 means nothing was done
 * because of what was given (usage, option value, config, input file); 1 means the command ran
 * but the other side refused or failed (an HTTP 4xx/5xx answer, no answer at all).
 */
export const EXIT_CODES = { ok: 0, failed: 1, usage: 2 } as const

/** The command ran, but the server refused or failed it, or could not be reached: exit 1. */
export class RemoteError extends HookferryError {
  constructor(code: string, message: string, options: { statusCode?: number; cause?: unknown } = {}) {
    super(code, message, { statusCode: options.statusCode ?? 400, cause: options.cause })
    this.name = 'RemoteError'
  }
}

/** "cannot reach <target>: connect ECONNREFUSED 127.0.0.1:8787": the cause's own words, once. */
export function unreachableError(target: string, error: unknown): RemoteError {
  // fetch() rejects with TypeError("fetch failed"); the socket's error is its cause.
  const cause = (error as { cause?: { message?: string; code?: string } }).cause
  const reason = cause?.message || cause?.code || (error instanceof Error ? error.message : String(error))
  return new RemoteError('cli.unreachable', `cannot reach ${target}: ${reason}`, { cause: error })
}

/** What to print (each line after "hookferry: ") and the exit code, for anything a command threw. */
export function describeFailure(error: unknown): { exitCode: number; lines: string[] } {
  if (error instanceof CommanderError) {
    // Commander printed its message already (help, version, or a usage error through outputError).
    return { exitCode: error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage, lines: [] }
  }
  if (error instanceof RemoteError) return { exitCode: EXIT_CODES.failed, lines: [error.message] }
  if (isHookferryError(error) && (error.expose || error.code === 'config.invalid')) {
    // A config error holds one line per problem (file, key, what was expected): show them all.
    return { exitCode: EXIT_CODES.usage, lines: error.message.split('\n').filter((line) => line.trim() !== '') }
  }
  return { exitCode: EXIT_CODES.failed, lines: [`unexpected error: ${error instanceof Error ? error.message : String(error)}`] }
}

import type * as sqlite from 'node:sqlite'

/**
 * Loads node:sqlite without its one-time ExperimentalWarning (the API is stable enough for us and
 * the warning alarms users). Only that warning is dropped, and only while the module loads.
 * Shared by the embedded server's store and the agent's loop guard.
 */
export function loadSqliteQuietly(): typeof sqlite {
  const emitWarning = process.emitWarning
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type
    const message = typeof warning === 'string' ? warning : warning.message
    if (type === 'ExperimentalWarning' && message.startsWith('SQLite is an experimental feature')) return
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest)
  } as typeof process.emitWarning
  try {
    return process.getBuiltinModule('node:sqlite')
  } finally {
    process.emitWarning = emitWarning
  }
}

import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.ts'

/**
 * Imports a user module (`.js`, `.mjs`, or `.ts` run through Node's type stripping) and returns
 * the named export, which must be a function. `key` names the config entry in errors.
 */
export async function loadUserFunction<F extends (...args: never[]) => unknown>(file: string, exportName: string, key: string): Promise<F> {
  let module: Record<string, unknown>
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'module not found' : (error as Error).message
    throw new ConfigError(`${key}: cannot load ${file}: ${reason}`, { cause: error })
  }
  const exported = module[exportName]
  if (typeof exported !== 'function') {
    throw new ConfigError(`${key}: ${file} has no function export "${exportName}" (found ${exported === undefined ? 'nothing' : typeof exported})`)
  }
  return exported as F
}

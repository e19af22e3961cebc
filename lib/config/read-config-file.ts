import { readFileSync } from 'node:fs'
import { ConfigError } from '../errors.ts'

/** A config file's text; a missing or unreadable file is a ConfigError naming it. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message
    throw new ConfigError(`${file}: cannot read config: ${reason}`)
  }
}

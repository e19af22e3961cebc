import { readFileSync } from 'node:fs'

/** hookferry's version, from package.json (found from the source tree and from dist/ alike). */
export function packageVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const parsed = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (parsed.name === 'hookferry' && parsed.version) return parsed.version
    } catch {
      // try the next location
    }
  }
  return '0.0.0'
}

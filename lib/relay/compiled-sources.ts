import type { ServerConfig, SourceConfig } from '../config/server-config.ts'
import { ConfigError } from '../errors.ts'
import { compileExtractor, type Extractor } from '../sources/extract.ts'

export interface CompiledSource {
  name: string
  config: SourceConfig
  extract: Extractor
}

const cache = new WeakMap<ServerConfig, Map<string, CompiledSource>>()

/** The source's compiled extractor (JSONata compiled once per config, not per webhook). */
export function compiledSource(config: ServerConfig, name: string): CompiledSource | undefined {
  let sources = cache.get(config)
  if (!sources) {
    sources = new Map()
    cache.set(config, sources)
  }
  const found = sources.get(name)
  if (found) return found
  const sourceConfig = Object.hasOwn(config.sources, name) ? config.sources[name] : undefined
  if (!sourceConfig) return undefined
  let extract: Extractor
  try {
    extract = compileExtractor(sourceConfig.verify, sourceConfig.extract)
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`sources.${name}.${error.message}`, { cause: error })
    throw error
  }
  const compiled = { name, config: sourceConfig, extract }
  sources.set(name, compiled)
  return compiled
}

/** Compiles every source up front, so a bad expression fails at start-up, not on the first webhook. */
export function compileAllSources(config: ServerConfig): void {
  for (const name of Object.keys(config.sources)) compiledSource(config, name)
}

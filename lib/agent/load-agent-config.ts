import { dirname, resolve } from 'node:path'
import { loadYamlConfig, parseYamlConfig } from '../config/load-yaml.ts'
import { agentConfigSchema, type AgentConfig, type AgentSourceConfig } from './config.ts'
import { resolveSyncPaths } from './sync/sync-config.ts'

/** A validated agent config whose relative paths are resolved against the config file's folder. */
export type LoadedAgentConfig = AgentConfig & {
  /** The config file, for messages. */
  file: string
  /** Folder of the config file: user modules and files are found from here. */
  baseDir: string
}

/** Reads and validates agent.yaml (see config.ts), or throws a ConfigError naming file, key and expectation. */
export function loadAgentConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedAgentConfig {
  return resolvePaths(loadYamlConfig(agentConfigSchema, file, env), file)
}

/** Validates agent config text; `file` names it in errors and anchors relative paths. */
export function parseAgentConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedAgentConfig {
  return resolvePaths(parseYamlConfig(agentConfigSchema, text, file, env), file)
}

function resolvePaths(config: AgentConfig, file: string): LoadedAgentConfig {
  const baseDir = dirname(resolve(file))
  const sources = Object.fromEntries(
    Object.entries(config.sources).map(([name, source]) => [name, resolveSourcePaths(source, baseDir)]),
  )
  return { ...config, dataDir: resolve(baseDir, config.dataDir), sources, file, baseDir }
}

function resolveSourcePaths(source: AgentSourceConfig, baseDir: string): AgentSourceConfig {
  const { transform, deliver } = source
  return {
    ...resolveSyncPaths(source, baseDir),
    ...(transform?.module ? { transform: { ...transform, module: resolve(baseDir, transform.module) } } : {}),
    deliver:
      deliver.type === 'file' ? { ...deliver, path: resolve(baseDir, deliver.path) }
      : deliver.type === 'module' ? { ...deliver, module: resolve(baseDir, deliver.module) }
      : deliver,
  }
}

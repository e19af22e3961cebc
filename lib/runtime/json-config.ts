import type * as z from 'zod/mini'
import { resolveEnvRefs } from '../config/env-refs.ts'
import { readConfigText } from '../config/read-config-file.ts'
import { parseWithSchema } from '../config/zod.ts'
import { ConfigError } from '../errors.ts'

/**
 * The file name, inside every function, of the config that sst.config.ts converted from YAML at
 * deploy time (deploy-config.ts). Lambda reads it with JSON.parse: no YAML parser in its cold start.
 */
export const DEPLOYED_CONFIG_FILE = 'hookferry.config.json'

/**
 * Reads a JSON config file, then resolves `${ENV}` references and validates it exactly as
 * loadYamlConfig does after parsing YAML (same tree, same checks, same messages).
 */
export function loadJsonConfig<T extends z.ZodMiniType>(schema: T, file: string, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const text = readConfigText(file)
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${file}: invalid JSON: ${(error as Error).message}`)
  }
  return parseWithSchema(schema, resolveEnvRefs(raw ?? {}, file, env), file)
}

import { ConfigError } from '../errors.ts'

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

/**
 * Looks a secret up by name: first the environment (`NAME`), then an SST linked resource
 * (`SST_RESOURCE_NAME` holds `{"value": ...}` for an `sst.Secret`), so one config file serves
 * the embedded default and AWS.
 */
export function lookupSecret(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env[name]
  if (direct !== undefined) return direct
  const linked = env[`SST_RESOURCE_${name}`]
  if (linked === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(linked)
    if (parsed && typeof parsed === 'object' && 'value' in parsed && typeof parsed.value === 'string') return parsed.value
  } catch {
    // fall through: a malformed linked resource is reported as missing
  }
  return undefined
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed config tree.
 * A missing variable without a default is an error naming the file and key.
 */
export function resolveEnvRefs(value: unknown, where: string, env: NodeJS.ProcessEnv = process.env, path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_match, name: string, fallback: string | undefined) => {
      const found = lookupSecret(name, env)
      if (found !== undefined) return found
      if (fallback !== undefined) return fallback
      const key = path.length > 0 ? path.join('.') : '(top level)'
      throw new ConfigError(`${where}: ${key}: environment variable ${name} is not set (referenced as \${${name}})`)
    })
  }
  if (Array.isArray(value)) return value.map((item, index) => resolveEnvRefs(item, where, env, [...path, String(index)]))
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveEnvRefs(item, where, env, [...path, key])]),
    )
  }
  return value
}

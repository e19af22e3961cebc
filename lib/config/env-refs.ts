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
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed config tree. Variables that
 * are missing (without a default) are reported all at once, one line per reference naming the file
 * and key, so a new config is fixed in one go rather than one variable per attempt.
 */
export function resolveEnvRefs(value: unknown, where: string, env: NodeJS.ProcessEnv = process.env): unknown {
  const missing: string[] = []
  const resolved = substitute(value, [], env, (name, path) => {
    const key = path.length > 0 ? path.join('.') : '(top level)'
    missing.push(`${where}: ${key}: environment variable ${name} is not set (referenced as \${${name}})`)
  })
  if (missing.length > 0) {
    const names = [...new Set(missing.map((line) => /variable (\S+)/.exec(line)![1]))]
    const summary = missing.length > 1 ? `\n${where}: set ${names.join(', ')} (or give defaults as \${NAME:-value})` : ''
    throw new ConfigError(`${missing.join('\n')}${summary}`)
  }
  return resolved
}

function substitute(value: unknown, path: string[], env: NodeJS.ProcessEnv, onMissing: (name: string, path: string[]) => void): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (match, name: string, fallback: string | undefined) => {
      const found = lookupSecret(name, env)
      if (found !== undefined) return found
      if (fallback !== undefined) return fallback
      onMissing(name, path)
      return match
    })
  }
  if (Array.isArray(value)) return value.map((item, index) => substitute(item, [...path, String(index)], env, onMissing))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, [...path, key], env, onMissing)]))
  }
  return value
}

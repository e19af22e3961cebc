import { ConfigError } from '../errors.ts'

/**
 * A property of an SST linked resource, read from `SST_RESOURCE_<Name>` (what `Resource.<Name>`
 * from the sst package reads), without bundling the sst SDK into every function.
 */
export function linkedResource(name: string, property: string, env: NodeJS.ProcessEnv = process.env): string {
  const raw = env[`SST_RESOURCE_${name}`]
  if (!raw) throw new ConfigError(`linked resource ${name} is missing (SST_RESOURCE_${name} is not set): is the function linked to it in sst.config.ts?`)
  const value = (JSON.parse(raw) as Record<string, unknown>)[property]
  if (typeof value !== 'string') throw new ConfigError(`linked resource ${name} has no "${property}"`)
  return value
}

import { parseYamlText } from '../config/load-yaml.ts'
import { ConfigError } from '../errors.ts'

/** Where in a parsed tree a value is that JSON cannot carry (NaN, .inf, undefined), if anywhere. */
function notJson(value: unknown, path: string): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path} is ${value}`
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = notJson(item, `${path}[${index}]`)
      if (found) return found
    }
    return undefined
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      const found = notJson(item, path === '' ? key : `${path}.${key}`)
      if (found) return found
    }
    return undefined
  }
  return `${path} is a ${typeof value}`
}

/**
 * Deploy time (sst.config.ts): the YAML config file as JSON, `${NAME}` references left for the
 * function to resolve (secrets stay out of the package). YAML syntax errors fail the deploy with
 * file:line:column; so does a value JSON cannot hold, rather than changing on the way.
 */
export function configYamlToJson(yamlText: string, where: string): string {
  const tree = parseYamlText(yamlText, where)
  const problem = notJson(tree, '')
  if (problem) throw new ConfigError(`${where}: ${problem}, which the deployed (JSON) config cannot hold`)
  return `${JSON.stringify(tree, null, 2)}\n`
}

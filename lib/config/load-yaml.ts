import type * as z from 'zod/mini'
import { LineCounter, parseDocument } from 'yaml'
import { ConfigError } from '../errors.ts'
import { resolveEnvRefs } from './env-refs.ts'
import { readConfigText } from './read-config-file.ts'
import { parseWithSchema } from './zod.ts'

/** Reads a YAML config file, resolves `${ENV}` references and validates it against `schema`. */
export function loadYamlConfig<T extends z.ZodMiniType>(
  schema: T,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<T> {
  const text = readConfigText(file)
  return parseYamlConfig(schema, text, file, env)
}

/** Parses YAML text (see loadYamlConfig); `where` names the file in error messages. */
export function parseYamlConfig<T extends z.ZodMiniType>(
  schema: T,
  text: string,
  where: string,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<T> {
  return parseWithSchema(schema, resolveEnvRefs(parseYamlText(text, where), where, env), where)
}

/** The plain tree of a YAML text, `${NAME}` references untouched; every syntax error as file:line:column. */
export function parseYamlText(text: string, where: string): unknown {
  const lineCounter = new LineCounter()
  const document = parseDocument(text, { prettyErrors: false, lineCounter })
  if (document.errors.length > 0) {
    // Every syntax error, each as file:line:column as editors jump to it.
    const lines = document.errors.map((error) => {
      const at = lineCounter.linePos(error.pos[0])
      return `${where}${at.line > 0 ? `:${at.line}:${at.col}` : ''}: invalid YAML: ${error.message.split('\n')[0]}`
    })
    throw new ConfigError(lines.join('\n'))
  }
  return (document.toJS() as unknown) ?? {}
}

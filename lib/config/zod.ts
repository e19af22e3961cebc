import * as z from 'zod/mini'
import { ConfigError } from '../errors.ts'

// zod/mini keeps Lambda bundles small; its English messages are opt-in.
z.config(z.locales.en())

export { z }

/** Formats schema issues as `file: key.path: message` lines, one per problem. */
export function formatIssues(where: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)'
      const missing = /^Invalid input: expected (\w+), received undefined$/.exec(issue.message)
      return `${where}: ${key}: ${missing ? `is required (expected ${missing[1]})` : issue.message}`
    })
    .join('\n')
}

/** Parses `value` with `schema`, or throws a ConfigError naming the file and each bad key. */
export function parseWithSchema<T extends z.ZodMiniType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value)
  if (!result.success) throw new ConfigError(formatIssues(where, result.error.issues))
  return result.data
}

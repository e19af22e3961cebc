import { config, type core, type ZodMiniType, type infer as Infer } from 'zod/mini'
import en from 'zod/v4/locales/en.js'
import { ConfigError } from '../errors.ts'

// zod/mini keeps Lambda bundles small; its English messages are opt-in. Import the one locale
// (not the `locales` namespace) and let schema files import `zod/mini` themselves: re-exporting
// the namespace from here defeated tree-shaking (1.2 MB -> 0.8 MB per function, see npm run bench).
config(en())

/** Formats schema issues as `file: key.path: message` lines, one per problem. */
export function formatIssues(where: string, issues: readonly core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)'
      const missing = /^Invalid input: expected (\w+), received undefined$/.exec(issue.message)
      return `${where}: ${key}: ${missing ? `is required (expected ${missing[1]})` : issue.message}`
    })
    .join('\n')
}

/** Parses `value` with `schema`, or throws a ConfigError naming the file and each bad key. */
export function parseWithSchema<T extends ZodMiniType>(schema: T, value: unknown, where: string): Infer<T> {
  const result = schema.safeParse(value)
  if (!result.success) throw new ConfigError(formatIssues(where, result.error.issues))
  return result.data
}

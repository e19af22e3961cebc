import { compileExpression, type Expression } from '../../expression.ts'

const PLAIN_PATH = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/

/**
 * A list's per-item expression, compiled: a plain field path (`id`, `updated_at`, `meta.next`) is
 * read directly, as JSONata would read it from JSON objects, because it runs for every record of
 * a backfill (a JSONata evaluation costs about as much as the rest of the record's work). Arrays
 * on the way, and anything else, go through JSONata.
 */
export function compileItemExpression(source: string, key: string): Expression {
  const jsonataExpression = compileExpression(source, key)
  if (!PLAIN_PATH.test(source)) return jsonataExpression
  const steps = source.split('.')
  return async (input) => {
    let value: unknown = input
    for (const step of steps) {
      if (value === null || typeof value !== 'object') return undefined
      if (Array.isArray(value)) return jsonataExpression(input)
      value = (value as Record<string, unknown>)[step]
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return jsonataExpression(input)
    return value
  }
}

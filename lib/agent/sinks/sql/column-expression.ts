import jsonata from 'jsonata'
import { compileExpression } from '../../expression.ts'

/** A compiled column expression: synchronous when it is a plain field path (most columns are). */
export type ColumnExpression = (input: unknown) => unknown

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * Compiles a column's JSONata once. A plain field path (`name`, `address.city`) reads the field
 * directly when every step meets a plain object, which is what JSONata gives there too; arrays and
 * every other expression go through JSONata. A sync chunk evaluates tens of thousands of these,
 * and JSONata's asynchronous evaluator costs microseconds per call.
 */
export function compileColumnExpression(source: string, key: string): ColumnExpression {
  const full = compileExpression(source, key)
  const path = fieldPath(source)
  if (path === undefined) return full
  return (input) => {
    let value: unknown = input
    for (const name of path) {
      if (!isPlainObject(value)) return full(input)
      value = value[name]
    }
    return Array.isArray(value) ? full(input) : value
  }
}

/** The field names of a plain path expression, or undefined for anything else. */
function fieldPath(source: string): string[] | undefined {
  const ast = jsonata(source).ast() as { type: string; steps?: Record<string, unknown>[] }
  if (ast.type !== 'path' || !ast.steps) return undefined
  const names: string[] = []
  for (const step of ast.steps) {
    const extra = Object.keys(step).filter((name) => !['type', 'value', 'position'].includes(name))
    if (step.type !== 'name' || typeof step.value !== 'string' || extra.length > 0) return undefined
    names.push(step.value)
  }
  return names
}

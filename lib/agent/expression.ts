import { compileJsonata, type Expression } from '../expressions/compile-jsonata.ts'
import { permanentError } from './errors.ts'

export type { Expression }

/** Compiles `source`; `key` (e.g. `sources.stripe.fetch.select`) names it in error messages. Gives plain JSON data. */
export function compileExpression(source: string, key: string): Expression {
  // Same input, same error: retrying cannot help.
  const evaluate = compileJsonata(source, key, (message, cause) => permanentError('agent.expression_failed', message, { cause }))
  return async (input) => {
    const value = await evaluate(input)
    // JSONata sequences are arrays with extra properties; hand on plain JSON.
    return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown)
  }
}

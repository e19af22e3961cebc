import jsonata from 'jsonata'
import { ConfigError } from '../errors.ts'
import { permanentError } from './errors.ts'

/** A compiled JSONata expression (https://docs.jsonata.org) giving plain JSON data. */
export type Expression = (input: unknown) => Promise<unknown>

/** Compiles `source`; `key` (e.g. `sources.stripe.fetch.select`) names it in error messages. */
export function compileExpression(source: string, key: string): Expression {
  let expression: jsonata.Expression
  try {
    expression = jsonata(source)
  } catch (error) {
    throw new ConfigError(`${key}: invalid JSONata: ${(error as Error).message}`, { cause: error })
  }
  return async (input) => {
    let value: unknown
    try {
      value = await expression.evaluate(input)
    } catch (error) {
      // Same input, same error: retrying cannot help.
      throw permanentError('agent.expression_failed', `${key} failed: ${(error as Error).message}`, { cause: error })
    }
    // JSONata sequences are arrays with extra properties; hand on plain JSON.
    return value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown)
  }
}

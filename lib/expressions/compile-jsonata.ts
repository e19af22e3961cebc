import jsonata from 'jsonata'
import { ConfigError } from '../errors.ts'

/** A compiled JSONata expression (https://docs.jsonata.org). */
export type Expression = (input: unknown) => Promise<unknown>

/** JSONata's message, with the position in the expression when it gives one. */
export function jsonataMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const position = (error as { position?: unknown }).position
  return typeof position === 'number' ? `${error.message} (at position ${position})` : error.message
}

/**
 * Compiles a JSONata expression once (a bad one is a ConfigError naming `key`); evaluation errors
 * become what `onEvaluationError` makes of them (a 400 at ingest, a permanent failure in the agent).
 * Server extraction and the agent's transforms share this one JSONata entry point.
 */
export function compileJsonata(source: string, key: string, onEvaluationError: (message: string, cause: unknown) => Error): Expression {
  let expression: jsonata.Expression
  try {
    expression = jsonata(source)
  } catch (error) {
    throw new ConfigError(`${key}: invalid JSONata: ${jsonataMessage(error)}`, { cause: error })
  }
  return async (input) => {
    try {
      return (await expression.evaluate(input)) as unknown
    } catch (error) {
      throw onEvaluationError(`${key} failed: ${jsonataMessage(error)}`, error)
    }
  }
}

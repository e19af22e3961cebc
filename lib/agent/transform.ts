import type { TransformConfig } from './config.ts'
import { userFunctionError } from './errors.ts'
import { compileExpression } from './expression.ts'
import { loadUserFunction } from './load-module.ts'

/** What a transform sees besides the record. */
export interface TransformContext {
  requestId: string
  source: string
  recordId: string
  recordType?: string
  event?: string
  attempt: number
}
/** Turns the fetched record into what is delivered; `undefined` means "do not deliver this one". */
export type Transform = (record: unknown, context: TransformContext) => Promise<unknown>
/** The shape of a user transform module's export. */
export type UserTransform = (record: unknown, context: TransformContext) => unknown

/** Builds the transform of a source: JSONata over `{record, request}` or a user function. */
export async function createTransform(config: TransformConfig, key: string): Promise<Transform> {
  if (config.jsonata !== undefined) {
    const expression = compileExpression(config.jsonata, `${key}.jsonata`)
    return (record, context) => expression({ record, request: context })
  }
  const transform = await loadUserFunction<UserTransform>(config.module!, config.export, `${key}.module`)
  return async (record, context) => {
    try {
      return await transform(record, context)
    } catch (error) {
      throw userFunctionError(error, 'agent.transform_failed', `${key}: transform threw`, false)
    }
  }
}

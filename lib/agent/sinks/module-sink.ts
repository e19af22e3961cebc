import { userFunctionError } from '../errors.ts'
import { loadUserFunction } from '../load-module.ts'
import { perDeliverySink, type Delivery, type Sink, type SinkResponse, type SinkResult } from './sink.ts'

/** What a user sink function gets besides the delivery. */
export interface ModuleSinkContext {
  signal?: AbortSignal
}
/**
 * The shape of a user sink: apply the delivery durably, then resolve. Return nothing, or
 * `{status, headers?, body?}` (used for write-back and sync replies). Throwing retries the
 * request unless the error has `retryable: false`; `retryAfterSeconds` on it sets the delay.
 */
export type UserSink = (delivery: Delivery, context: ModuleSinkContext) => unknown

/** Delivers by calling a function exported by the user's module. */
export async function createModuleSink(config: { module: string; export: string }, key: string): Promise<Sink> {
  const deliver = await loadUserFunction<UserSink>(config.module, config.export, `${key}.module`)
  return perDeliverySink(async (delivery: Delivery, signal?: AbortSignal): Promise<SinkResult> => {
    let result: unknown
    try {
      result = await deliver(delivery, signal ? { signal } : {})
    } catch (error) {
      throw userFunctionError(error, 'agent.deliver_failed', `${key}: sink function threw`, true)
    }
    return result === undefined || result === null ? {} : { response: responseOf(result) }
  })
}

function responseOf(result: unknown): SinkResponse {
  const candidate = result as { status?: unknown; headers?: unknown; body?: unknown }
  if (typeof candidate === 'object' && Number.isInteger(candidate.status)) {
    const headers = typeof candidate.headers === 'object' && candidate.headers !== null ? (candidate.headers as Record<string, string>) : {}
    return { status: candidate.status as number, headers, body: candidate.body }
  }
  return { status: 200, headers: {}, body: result }
}

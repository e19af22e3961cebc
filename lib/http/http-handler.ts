import middy from '@middy/core'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda'
import { stderrLog } from '../relay/deps.ts'
import { getRuntime, type Runtime } from '../runtime/runtime.ts'
import { errorResponse } from './error-response.ts'

export type HttpRoute = (runtime: Runtime, event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>

/** The embedded server's Lambda context also says when the caller hung up (Lambda has no such thing). */
export type LocalContext = Context & { abortSignal?: AbortSignal }

/** The runtime, with a signal that also fires when this request's caller went away (embedded server). */
export function withRequestSignal(runtime: Runtime, context: LocalContext): Runtime {
  if (!context.abortSignal) return runtime
  return { ...runtime, signal: runtime.signal ? AbortSignal.any([runtime.signal, context.abortSignal]) : context.abortSignal }
}

/**
 * The middy chain every HTTP function shares: the runtime (AWS or embedded), one error mapping,
 * metrics flushed per invocation. Handlers in functions/ only name the route function.
 */
export function httpHandler(route: HttpRoute) {
  let runtime: Runtime | undefined
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use({
      before: async () => {
        runtime = await getRuntime()
      },
      // Braces matter: a middy middleware that returns a value replaces the response.
      after: () => {
        runtime?.flush()
      },
      onError: (request) => {
        runtime?.flush()
        request.response = errorResponse(request.error, runtime?.log ?? stderrLog)
      },
    })
    .handler(async (event, context) => route(runtime!, event, context))
}

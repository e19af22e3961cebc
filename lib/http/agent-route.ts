import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import type * as z from 'zod/mini'
import { authenticateAgent } from '../relay/agent-auth.ts'
import type { Runtime } from '../runtime/runtime.ts'
import { withRequestSignal, type HttpRoute } from './http-handler.ts'
import { headersOf, jsonBodyOf, jsonResult } from './lambda-io.ts'

/** An agent API route: bearer-token auth, a schema-checked JSON body, a JSON answer. */
export function agentRoute<T extends z.ZodMiniType>(
  schema: T,
  serve: (runtime: Runtime, agentId: string, body: z.infer<T>) => Promise<unknown>,
): HttpRoute {
  return async (runtime, event: APIGatewayProxyEventV2, context) => {
    let agentId: string
    try {
      agentId = authenticateAgent(runtime.config.agents, headersOf(event).authorization)
    } catch (error) {
      // Logged without the token itself.
      runtime.log.warn('agent API request rejected', { path: event.rawPath, reason: (error as Error).message, sourceIp: event.requestContext?.http?.sourceIp })
      throw error
    }
    // A long poll whose agent hung up (it is stopping) must not lease work to nobody.
    return jsonResult(200, await serve(withRequestSignal(runtime, context), agentId, jsonBodyOf(event, schema)))
  }
}

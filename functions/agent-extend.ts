import { agentRoute } from '../lib/http/agent-route.ts'
import { httpHandler } from '../lib/http/http-handler.ts'
import { extendRequestSchema } from '../lib/relay/agent-api.ts'
import { extendLeases } from '../lib/relay/agent-service.ts'

/** POST /agent/v1/extend — lengthen leases for slow work. */
export const handler = httpHandler(agentRoute(extendRequestSchema, (runtime, agentId, body) => extendLeases(runtime, agentId, body)))

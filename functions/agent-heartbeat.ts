import { agentRoute } from '../lib/http/agent-route.ts'
import { httpHandler } from '../lib/http/http-handler.ts'
import { heartbeatRequestSchema } from '../lib/relay/agent-api.ts'
import { recordHeartbeat } from '../lib/relay/agent-service.ts'

/** POST /agent/v1/heartbeat — the agent is alive. */
export const handler = httpHandler(agentRoute(heartbeatRequestSchema, (runtime, agentId, body) => recordHeartbeat(runtime, agentId, body)))

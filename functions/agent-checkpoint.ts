import { agentRoute } from '../lib/http/agent-route.ts'
import { httpHandler } from '../lib/http/http-handler.ts'
import { checkpointRequestSchema } from '../lib/relay/agent-api.ts'
import { checkpointLease } from '../lib/relay/sync/sync-service.ts'

/** POST /agent/v1/checkpoint — a sync run committed a chunk (its lease is the fence). */
export const handler = httpHandler(agentRoute(checkpointRequestSchema, (runtime, agentId, body) => checkpointLease(runtime, agentId, body)))

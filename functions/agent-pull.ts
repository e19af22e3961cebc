import { agentRoute } from '../lib/http/agent-route.ts'
import { httpHandler } from '../lib/http/http-handler.ts'
import { pullRequestSchema } from '../lib/relay/agent-api.ts'
import { pullLeases } from '../lib/relay/agent-service.ts'

/** POST /agent/v1/pull — long poll for leases. */
export const handler = httpHandler(agentRoute(pullRequestSchema, (runtime, agentId, body) => pullLeases(runtime, agentId, body)))

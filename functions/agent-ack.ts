import { agentRoute } from '../lib/http/agent-route.ts'
import { httpHandler } from '../lib/http/http-handler.ts'
import { ackRequestSchema } from '../lib/relay/agent-api.ts'
import { ackLeases } from '../lib/relay/agent-service.ts'

/** POST /agent/v1/ack — done | retry | fail | release, per lease. */
export const handler = httpHandler(agentRoute(ackRequestSchema, (runtime, agentId, body) => ackLeases(runtime, agentId, body.acks)))

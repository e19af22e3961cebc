import type * as z from 'zod/mini'
import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import { formatIssues } from '../config/zod.ts'
import { HookferryError } from '../errors.ts'
import type { HttpRoute } from '../http/http-handler.ts'
import { headersOf, jsonBodyOf, jsonResult, queryOf } from '../http/lambda-io.ts'
import type { RelayDeps } from '../relay/deps.ts'
import { discardBodySchema, listRequestsQuerySchema, replayDeadLettersBodySchema } from './admin-api.ts'
import { authenticateAdmin } from './admin-auth.ts'
import { describeAgents, discardRequest, listRequests, replayDeadLetters, replayRequest, showRequest } from './admin-service.ts'
import { deadLetterGroupsQuerySchema, groupDeadLetters } from './dead-letter-groups.ts'
import { describeOverview } from './overview.ts'
import { listRunsQuerySchema, resetSyncBodySchema, startSyncBodySchema } from './sync-api.ts'
import { cancelRun, describeSyncs, listRuns, resetSync, showRun, startSync } from './sync-admin.ts'

type AdminOperation = (deps: RelayDeps, event: APIGatewayProxyEventV2) => Promise<unknown>

/** Parses the query string against a schema: 400 with the offending parameter on bad input. */
function queryParamsOf<T extends z.ZodMiniType>(event: APIGatewayProxyEventV2, schema: T): z.infer<T> {
  const result = schema.safeParse(queryOf(event))
  if (!result.success) throw new HookferryError('request.invalid', formatIssues('query', result.error.issues), { statusCode: 400 })
  return result.data
}

const idOf = (event: APIGatewayProxyEventV2): string => event.pathParameters?.id ?? ''
const jobOf = (event: APIGatewayProxyEventV2): [string, string] => [event.pathParameters?.source ?? '', event.pathParameters?.job ?? '']

/** Every admin operation by API Gateway route key; lib/http/routes.ts lists the same keys with fn "admin". */
export const ADMIN_OPERATIONS: Readonly<Record<string, AdminOperation>> = {
  'GET /admin/v1/requests': (deps, event) => listRequests(deps, queryParamsOf(event, listRequestsQuerySchema)),
  'GET /admin/v1/requests/{id}': (deps, event) => showRequest(deps, idOf(event)),
  'POST /admin/v1/requests/{id}/replay': (deps, event) => replayRequest(deps, idOf(event)),
  'POST /admin/v1/requests/{id}/discard': (deps, event) => discardRequest(deps, idOf(event), jsonBodyOf(event, discardBodySchema).reason),
  'POST /admin/v1/dead-letters/replay': (deps, event) => replayDeadLetters(deps, jsonBodyOf(event, replayDeadLettersBodySchema)),
  'GET /admin/v1/agents': (deps) => describeAgents(deps),
  'GET /admin/v1/overview': (deps) => describeOverview(deps),
  'GET /admin/v1/dead-letters': (deps, event) => groupDeadLetters(deps, queryParamsOf(event, deadLetterGroupsQuerySchema).source),
  'GET /admin/v1/syncs': (deps) => describeSyncs(deps),
  'POST /admin/v1/syncs/{source}/{job}/start': (deps, event) => startSync(deps, ...jobOf(event), jsonBodyOf(event, startSyncBodySchema)),
  'POST /admin/v1/syncs/{source}/{job}/reset': (deps, event) => resetSync(deps, ...jobOf(event), jsonBodyOf(event, resetSyncBodySchema)),
  'GET /admin/v1/runs': (deps, event) => listRuns(deps, queryParamsOf(event, listRunsQuerySchema)),
  'GET /admin/v1/runs/{id}': (deps, event) => showRun(deps, idOf(event)),
  'POST /admin/v1/runs/{id}/cancel': (deps, event) => cancelRun(deps, idOf(event)),
}

/** The admin API (one function, several routes): admin token, then the operation named by the route key. */
export const adminRoute: HttpRoute = async (runtime, event) => {
  try {
    authenticateAdmin(runtime.config, headersOf(event).authorization)
  } catch (error) {
    // Logged without the token itself.
    runtime.log.warn('admin API request rejected', { path: event.rawPath, reason: (error as Error).message, sourceIp: event.requestContext?.http?.sourceIp })
    throw error
  }
  const operation = Object.hasOwn(ADMIN_OPERATIONS, event.routeKey) ? ADMIN_OPERATIONS[event.routeKey] : undefined
  if (!operation) throw new HookferryError('route.not_found', `no admin operation for ${event.routeKey}`, { statusCode: 404 })
  return jsonResult(200, await operation(runtime, event))
}

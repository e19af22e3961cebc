/**
 * Every HTTP route and the function that serves it. sst.config.ts declares API Gateway routes
 * from this list and `hookferry serve` routes local requests with it, so both run the same
 * handlers for the same paths.
 */
export interface RouteSpec {
  /** API Gateway HTTP API route key. */
  route: `${'GET' | 'POST' | 'DELETE'} /${string}`
  /** Handler module under functions/ (without extension); it exports `handler`. */
  fn: string
  /** Longest time the function may run (API Gateway caps HTTP APIs at 30 s). */
  timeoutSeconds: number
  /**
   * Lambda memory; default 1024. The long poll mostly waits, and Lambda bills GB-s while it does.
   * Ingest and the agent's ack/extend/checkpoint make a few sequential DynamoDB and SQS calls with
   * little CPU between them (the bench's profiles), so 512 MB; a heartbeat is one PutItem. These are
   * sized from emulator runs: confirm with the REPORT lines (or Lambda Power Tuning) on AWS.
   */
  memoryMB?: number
}

export const ROUTES: readonly RouteSpec[] = [
  { route: 'POST /hooks/{source}', fn: 'ingest', timeoutSeconds: 29, memoryMB: 512 },
  { route: 'POST /agent/v1/pull', fn: 'agent-pull', timeoutSeconds: 29, memoryMB: 256 },
  { route: 'POST /agent/v1/ack', fn: 'agent-ack', timeoutSeconds: 15, memoryMB: 512 },
  { route: 'POST /agent/v1/extend', fn: 'agent-extend', timeoutSeconds: 15, memoryMB: 512 },
  { route: 'POST /agent/v1/heartbeat', fn: 'agent-heartbeat', timeoutSeconds: 10, memoryMB: 256 },
  { route: 'POST /agent/v1/checkpoint', fn: 'agent-checkpoint', timeoutSeconds: 15, memoryMB: 512 },
  // Admin API: one function (functions/admin.ts) serves every /admin/v1 route, so one timeout for all.
  { route: 'GET /admin/v1/requests', fn: 'admin', timeoutSeconds: 29 },
  { route: 'GET /admin/v1/requests/{id}', fn: 'admin', timeoutSeconds: 29 },
  { route: 'POST /admin/v1/requests/{id}/replay', fn: 'admin', timeoutSeconds: 29 },
  { route: 'POST /admin/v1/requests/{id}/discard', fn: 'admin', timeoutSeconds: 29 },
  { route: 'POST /admin/v1/dead-letters/replay', fn: 'admin', timeoutSeconds: 29 },
  { route: 'GET /admin/v1/agents', fn: 'admin', timeoutSeconds: 29 },
  { route: 'GET /admin/v1/overview', fn: 'admin', timeoutSeconds: 29 },
  { route: 'GET /admin/v1/dead-letters', fn: 'admin', timeoutSeconds: 29 },
  { route: 'GET /admin/v1/syncs', fn: 'admin', timeoutSeconds: 29 },
  { route: 'POST /admin/v1/syncs/{source}/{job}/start', fn: 'admin', timeoutSeconds: 29 },
  { route: 'POST /admin/v1/syncs/{source}/{job}/reset', fn: 'admin', timeoutSeconds: 29 },
  { route: 'GET /admin/v1/runs', fn: 'admin', timeoutSeconds: 29 },
  { route: 'GET /admin/v1/runs/{id}', fn: 'admin', timeoutSeconds: 29 },
  { route: 'POST /admin/v1/runs/{id}/cancel', fn: 'admin', timeoutSeconds: 29 },
  // The dashboard's static files (functions/dashboard.ts); the page then calls the admin API.
  { route: 'GET /ui', fn: 'dashboard', timeoutSeconds: 10, memoryMB: 256 },
  { route: 'GET /ui/{proxy+}', fn: 'dashboard', timeoutSeconds: 10, memoryMB: 256 },
]

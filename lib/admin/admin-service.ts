import type { RelayDeps } from '../relay/deps.ts'
import { decideDiscard } from '../relay/replay-decisions.ts'
import type { DiscardResponse, ListRequestsQuery, RequestDetailResponse, RequestPageResponse } from './admin-api.ts'
import { requestNotDead, requestNotFound } from './admin-errors.ts'
import { ADMIN_ACTOR } from './replay.ts'
import { detailOfRequest, summarizeRequest } from './request-views.ts'

export { replayDeadLetters, replayRequest } from './replay.ts'
export { describeAgents } from './backlog.ts'

/** GET /admin/v1/requests: filter by source, state, record id and updatedAt range; newest first, paged. */
export async function listRequests(deps: Pick<RelayDeps, 'ledger'>, query: ListRequestsQuery): Promise<RequestPageResponse> {
  const page = await deps.ledger.listRequests({
    limit: query.limit,
    ...(query.source === undefined ? {} : { source: query.source }),
    ...(query.state === undefined ? {} : { state: query.state }),
    ...(query.record === undefined ? {} : { recordId: query.record }),
    ...(query.since === undefined ? {} : { since: query.since }),
    ...(query.until === undefined ? {} : { until: query.until }),
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
  })
  return { items: page.items.map(summarizeRequest), ...(page.cursor === undefined ? {} : { cursor: page.cursor }) }
}

/** GET /admin/v1/requests/{id}: the request with its events and attempts, and its record's state now. */
export async function showRequest(deps: Pick<RelayDeps, 'ledger'>, id: string): Promise<RequestDetailResponse> {
  const request = await deps.ledger.getRequest(id)
  if (!request) throw requestNotFound(id)
  const record = await deps.ledger.getRecord(request.recordKey)
  return {
    request: detailOfRequest(request),
    ...(record
      ? { record: { state: record.state, dirty: record.dirty, updatedAt: record.updatedAt, pendingEvents: record.pendingEvents.length, ...(record.requestId === undefined ? {} : { requestId: record.requestId }) } }
      : {}),
  }
}

/** POST /admin/v1/requests/{id}/discard: gives up on a dead letter, keeping the reason; it then expires like finished work. */
export async function discardRequest(deps: RelayDeps, id: string, reason: string): Promise<DiscardResponse> {
  const request = await deps.ledger.getRequest(id)
  if (!request) throw requestNotFound(id)
  const now = deps.now()
  const result = await deps.ledger.mutateRecord(request.recordKey, [id], (snapshot) =>
    decideDiscard(snapshot, { requestId: id, reason, by: ADMIN_ACTOR, now, retentionSeconds: deps.config.retention.doneSeconds }),
  )
  if (result.status === 'not_dead') throw requestNotDead(id, 'discarded', (await deps.ledger.getRequest(id))?.state)
  deps.metrics.count('RequestsDiscarded')
  deps.log.info('dead letter discarded', { requestId: id, source: request.source, reason })
  return { requestId: id, status: 'discarded' }
}

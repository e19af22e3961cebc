import type { RelayRequest } from '../relay/types.ts'
import type { RequestDetail, RequestSummary } from './admin-api.ts'

/**
 * Maps a request to its list form. A done request has no last error: an error from an attempt
 * before a replay or a retry that then succeeded is history (the attempts list keeps it).
 */
export function summarizeRequest(request: RelayRequest): RequestSummary {
  const lastEvent = request.events.at(-1)?.event
  return {
    id: request.id,
    source: request.source,
    recordId: request.recordId,
    ...(request.recordType === undefined ? {} : { recordType: request.recordType }),
    state: request.state,
    mode: request.mode,
    eventCount: request.eventCount,
    ...(lastEvent === undefined ? {} : { lastEvent }),
    attempts: request.attempts,
    maxAttempts: request.maxAttempts,
    createdAt: request.createdAt,
    updatedAt: request.updatedAt,
    ...(request.nextAttemptAt === undefined ? {} : { nextAttemptAt: request.nextAttemptAt }),
    ...(request.lease === undefined ? {} : { leasedBy: request.lease.agentId }),
    ...(request.lastError === undefined || request.state === 'done' ? {} : { lastError: request.lastError }),
    ...(request.discardReason === undefined ? {} : { discardReason: request.discardReason }),
  }
}

/** Maps a request to its detail form (history included, payload and reply body left out). */
export function detailOfRequest(request: RelayRequest): RequestDetail {
  return {
    ...summarizeRequest(request),
    recordKey: request.recordKey,
    ...(request.sentAt === undefined ? {} : { sentAt: request.sentAt }),
    ...(request.lease === undefined ? {} : { leaseExpiresAt: request.lease.expiresAt }),
    events: request.events,
    attemptHistory: request.history,
    hasPayload: request.payload !== undefined,
    ...(request.reply === undefined ? {} : { replyStatus: request.reply.status }),
  }
}

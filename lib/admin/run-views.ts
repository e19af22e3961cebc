import type { RelayRequest } from '../relay/types.ts'
import { ZERO_COUNTS } from '../relay/sync-types.ts'
import type { RunDetail, RunSummary } from './sync-api.ts'

/** A run request in its list form. */
export function summarizeRun(request: RelayRequest, now: Date): RunSummary {
  const run = request.sync
  const end = run?.finishedAt ?? (request.state === 'queued' || request.state === 'leased' ? now.toISOString() : request.updatedAt)
  return {
    id: request.id,
    source: request.source,
    job: request.recordId,
    state: request.state,
    mode: run?.mode ?? request.events.find((event) => event.sync)?.sync?.mode ?? 'incremental',
    ...((run?.trigger ?? request.events[0]?.sync?.trigger) ? { trigger: run?.trigger ?? request.events[0]?.sync?.trigger } : {}),
    ...(run?.ids ? { idCount: run.ids.length } : {}),
    counts: run?.counts ?? { ...ZERO_COUNTS },
    chunks: run?.chunks ?? 0,
    errorCount: run?.errors.length ?? 0,
    attempts: request.attempts,
    maxAttempts: request.maxAttempts,
    createdAt: request.createdAt,
    updatedAt: request.updatedAt,
    ...(run?.startedAt ? { startedAt: run.startedAt, durationSeconds: Math.max(0, (Date.parse(end) - Date.parse(run.startedAt)) / 1000) } : {}),
    ...(run?.finishedAt ? { finishedAt: run.finishedAt } : {}),
    ...(request.lease ? { leasedBy: request.lease.agentId } : {}),
    ...(request.lastError && request.state !== 'done' ? { lastError: request.lastError } : {}),
    ...(request.discardReason ? { discardReason: request.discardReason } : {}),
  }
}

/** A run with its position, errors, triggers and attempts. */
export function detailOfRun(request: RelayRequest, now: Date): RunDetail {
  const run = request.sync
  return {
    ...summarizeRun(request, now),
    ...(run?.ids ? { ids: run.ids } : {}),
    ...(run?.startWatermark ? { startWatermark: run.startWatermark } : {}),
    ...(run?.checkpoint ? { checkpoint: run.checkpoint } : {}),
    ...(run?.until ? { until: run.until } : {}),
    ...(request.lease ? { leaseExpiresAt: request.lease.expiresAt } : {}),
    ...(request.nextAttemptAt ? { nextAttemptAt: request.nextAttemptAt } : {}),
    errors: run?.errors ?? [],
    triggers: request.events,
    attemptHistory: request.history,
  }
}

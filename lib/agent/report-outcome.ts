import type { Logger } from 'pino'
import type { LeaseGrant } from '../relay/agent-api.ts'
import type { AgentMetrics } from './metrics.ts'
import type { ProcessResult } from './process-request.ts'

/**
 * One structured log line per request outcome (requestId, source, recordId, outcome,
 * durationMs, attempt, and the note or error) and the matching metrics.
 */
export function reportOutcome(deps: { log: Logger; metrics: AgentMetrics }, lease: LeaseGrant, result: ProcessResult, durationMs: number): void {
  const { log, metrics } = deps
  const { outcome } = result
  const fields = {
    requestId: lease.requestId,
    source: lease.source,
    recordId: lease.recordId,
    ...(lease.recordType ? { recordType: lease.recordType } : {}),
    outcome: outcome.outcome,
    durationMs,
    attempt: lease.attempt,
    ...(outcome.outcome === 'done' && outcome.note ? { note: outcome.note } : {}),
    ...((outcome.outcome === 'retry' || outcome.outcome === 'release') && outcome.delaySeconds !== undefined ? { delaySeconds: outcome.delaySeconds } : {}),
    ...(outcome.outcome !== 'done' && outcome.error ? { error: outcome.error } : {}),
  }
  metrics.observe('processing_duration_seconds', lease.source, durationMs / 1000)
  switch (outcome.outcome) {
    case 'done': {
      if (outcome.note === 'unchanged') metrics.count('skipped_unchanged', lease.source)
      else if (outcome.note === 'stale') metrics.count('skipped_stale', lease.source)
      else if (outcome.note === 'filtered') metrics.count('skipped_filtered', lease.source)
      else metrics.count('delivered', lease.source)
      // From the oldest event folded into this request: how long the change took to arrive.
      const receivedAt = Date.parse(lease.events[0]?.receivedAt ?? '')
      if (result.deliveredAt !== undefined && !Number.isNaN(receivedAt)) {
        metrics.observe('end_to_end_latency_seconds', lease.source, Math.max(0, result.deliveredAt - receivedAt) / 1000)
      }
      log.info(fields, 'request done')
      return
    }
    case 'retry':
      metrics.count('retried', lease.source)
      log.warn(fields, 'request will be retried')
      return
    case 'fail':
      metrics.count('failed', lease.source)
      log.error(fields, 'request failed')
      return
    case 'release':
      metrics.count('held', lease.source)
      // A breaker holding work says so once, when it opens; each held request is only a debug line.
      log[outcome.error?.code === 'agent.circuit_open' ? 'debug' : 'warn'](fields, 'request held back: the far side is unavailable (no attempt spent)')
  }
}

import type { RelayDeps } from '../relay/deps.ts'
import { sendWorkMessages } from '../relay/work-messages.ts'
import type { WorkMessage } from '../relay/queue-message.ts'
import { decideReplay, type ReplayResult } from '../relay/replay-decisions.ts'
import type { RelayRequest } from '../relay/types.ts'
import type { BulkReplayCounts, BulkReplayResponse, ReplayDeadLettersBody, ReplayResponse } from './admin-api.ts'
import { requestNotDead, requestNotFound } from './admin-errors.ts'

/** Who replays: the admin API has one token, so one actor. Kept in the request's history. */
export const ADMIN_ACTOR = 'admin'
/** Dead letters replayed in parallel (each is one atomic ledger write on its own record). */
const REPLAY_CONCURRENCY = 10
/** SQS SendMessageBatch takes at most 10 entries. */
const SEND_BATCH = 10
const PAGE_SIZE = 100

type Replayed = Exclude<ReplayResult, { status: 'not_dead' }>

/** Runs decideReplay on the dead request's record; returns the message to send, if any. */
async function replayDead(deps: RelayDeps, dead: Pick<RelayRequest, 'id' | 'recordKey'>): Promise<ReplayResult> {
  const now = deps.now()
  return deps.ledger.mutateRecord(dead.recordKey, [dead.id], (snapshot) => decideReplay(snapshot, { requestId: dead.id, now, by: ADMIN_ACTOR }))
}

function messageFor(result: Replayed, recordKey: string): WorkMessage | undefined {
  if (result.status === 'requeued') return { requestId: result.request.id, recordKey }
  return result.send ? { requestId: result.intoRequestId, recordKey } : undefined
}

/**
 * Sends the wake-up messages for replayed work. A failure is logged, not thrown: the ledger
 * already says queued, and the repair sweep re-sends unsent requests within minutes.
 */
async function sendReplayed(deps: RelayDeps, messages: WorkMessage[]): Promise<void> {
  const unique = [...new Map(messages.map((message) => [message.requestId, message])).values()]
  for (let index = 0; index < unique.length; index += SEND_BATCH) {
    const batch = unique.slice(index, index + SEND_BATCH)
    await sendWorkMessages(deps, batch).catch((error: unknown) => {
      deps.log.warn('could not send messages for replayed requests; the repair sweep will re-send them', { requestIds: batch.map((message) => message.requestId), error: String(error) })
    })
  }
}

/** POST /admin/v1/requests/{id}/replay: one dead letter back to work (or folded into the record's current work). */
export async function replayRequest(deps: RelayDeps, id: string): Promise<ReplayResponse> {
  const request = await deps.ledger.getRequest(id)
  if (!request) throw requestNotFound(id)
  const result = await replayDead(deps, request)
  if (result.status === 'not_dead') throw requestNotDead(id, 'replayed', result.state)
  const message = messageFor(result, request.recordKey)
  await sendReplayed(deps, message ? [message] : [])
  deps.metrics.count('RequestsReplayed')
  deps.log.info('dead letter replayed', { requestId: id, source: request.source, status: result.status, ...(result.status === 'folded' ? { intoRequestId: result.intoRequestId } : {}) })
  return result.status === 'requeued' ? { requestId: id, status: 'requeued' } : { requestId: id, status: 'folded', intoRequestId: result.intoRequestId }
}

/**
 * POST /admin/v1/dead-letters/replay: replays the dead letters of a source and/or updatedAt
 * range, newest first, at most `limit` of them. Replayed requests leave the dead state, and the
 * cursor moves to older ones, so each dead letter is replayed at most once per run.
 */
export async function replayDeadLetters(deps: RelayDeps, input: ReplayDeadLettersBody): Promise<BulkReplayResponse> {
  const counts: BulkReplayCounts = { replayed: 0, folded: 0, skipped: 0, failed: 0 }
  const filter = {
    state: 'dead' as const,
    ...(input.source === undefined ? {} : { source: input.source }),
    ...(input.since === undefined ? {} : { since: input.since }),
    ...(input.until === undefined ? {} : { until: input.until }),
  }
  let cursor = input.cursor
  let remaining = input.limit
  while (remaining > 0) {
    const page = await deps.ledger.listRequests({ ...filter, limit: Math.min(remaining, PAGE_SIZE), ...(cursor === undefined ? {} : { cursor }) })
    const messages: WorkMessage[] = []
    for (let index = 0; index < page.items.length; index += REPLAY_CONCURRENCY) {
      const chunk = page.items.slice(index, index + REPLAY_CONCURRENCY)
      const results = await Promise.all(
        chunk.map((request) =>
          replayDead(deps, request).catch((error: unknown) => {
            deps.log.error('could not replay a dead letter', { requestId: request.id, error: String(error) })
            return undefined
          }),
        ),
      )
      results.forEach((result, position) => {
        if (!result) counts.failed += 1
        else if (result.status === 'not_dead') counts.skipped += 1
        else {
          counts[result.status === 'requeued' ? 'replayed' : 'folded'] += 1
          const message = messageFor(result, chunk[position]!.recordKey)
          if (message) messages.push(message)
        }
      })
    }
    await sendReplayed(deps, messages)
    remaining -= page.items.length
    cursor = page.cursor
    if (cursor === undefined || page.items.length === 0) break
  }
  const replayedCount = counts.replayed + counts.folded
  if (replayedCount > 0) deps.metrics.count('RequestsReplayed', replayedCount)
  deps.log.info('dead letters replayed', { ...counts, ...filter, more: cursor !== undefined && remaining <= 0 })
  return { ...counts, ...(cursor !== undefined && remaining <= 0 ? { cursor } : {}) }
}

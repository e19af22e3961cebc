import { setTimeout as sleep } from 'node:timers/promises'
import type { RelayDeps } from './deps.ts'
import type { EventResult } from './record-machine.ts'
import type { SyncReply } from './types.ts'

const POLL_INTERVAL_IN_MS = 50

/**
 * Request/reply mode: waits (bounded) for the agent's reply to the request this event went into.
 * A deferred event (its record was being processed) is answered by its follow-up request, the id
 * decideEvent returned; when a retry folded that request's events into the request in flight, the
 * record points at the one that answers. Returns undefined on timeout: the caller answers 202.
 */
export async function awaitReply(
  deps: RelayDeps,
  event: Pick<EventResult, 'requestId' | 'outcome'> & { recordKey: string },
  { timeoutMs }: { timeoutMs: number },
): Promise<SyncReply | undefined> {
  const deadline = Date.now() + timeoutMs
  let requestId = event.requestId
  while (Date.now() < deadline && !deps.signal?.aborted) {
    const request = await deps.ledger.getRequest(requestId)
    if (request?.state === 'done') return request.reply ?? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ done: true, request: request.id }) }
    const foldedInto = request?.state === 'discarded' && event.outcome === 'deferred' ? (await deps.ledger.getRecord(event.recordKey))?.requestId : undefined
    if (foldedInto && foldedInto !== requestId) {
      requestId = foldedInto
      continue
    }
    if (request?.state === 'dead' || request?.state === 'discarded') {
      return { status: 502, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'sync.failed', message: request.lastError?.message ?? 'the agent could not process the request' } }) }
    }
    await sleep(Math.min(POLL_INTERVAL_IN_MS, Math.max(deadline - Date.now(), 0)), undefined, { signal: deps.signal }).catch(() => undefined)
  }
  return undefined
}

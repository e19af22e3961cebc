import { setTimeout as sleep } from 'node:timers/promises'
import type { RelayDeps } from './deps.ts'
import type { EventResult } from './record-machine.ts'
import type { SyncReply } from './types.ts'

const POLL_INTERVAL_IN_MS = 50

/**
 * Request/reply mode: waits (bounded) for the agent's reply to the request this event went into.
 * A deferred event (its record was being processed) is answered by the follow-up request, which
 * is found through the record. Returns undefined on timeout: the caller answers 202.
 */
export async function awaitReply(
  deps: RelayDeps,
  event: Pick<EventResult, 'requestId' | 'outcome'> & { recordKey: string },
  { timeoutMs }: { timeoutMs: number },
): Promise<SyncReply | undefined> {
  const deadline = Date.now() + timeoutMs
  let requestId = event.requestId
  let waitingForFollowUp = event.outcome === 'deferred'
  while (Date.now() < deadline && !deps.signal?.aborted) {
    if (waitingForFollowUp) {
      const record = await deps.ledger.getRecord(event.recordKey)
      if (record?.requestId && record.requestId !== requestId) {
        requestId = record.requestId
        waitingForFollowUp = false
      }
    } else {
      const request = await deps.ledger.getRequest(requestId)
      if (request?.state === 'done') return request.reply ?? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ done: true, request: request.id }) }
      if (request?.state === 'dead' || request?.state === 'discarded') {
        return { status: 502, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'sync.failed', message: request.lastError?.message ?? 'the agent could not process the request' } }) }
      }
    }
    await sleep(Math.min(POLL_INTERVAL_IN_MS, Math.max(deadline - Date.now(), 0)), undefined, { signal: deps.signal }).catch(() => undefined)
  }
  return undefined
}

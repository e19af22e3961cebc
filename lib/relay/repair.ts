import type { RelayDeps } from './deps.ts'
import { sendWorkMessages } from './work-messages.ts'
import { decodeWorkMessage } from './queue-message.ts'
import { decideRedriven } from './record-machine.ts'
import type { RelayRequest } from './types.ts'

/** A queued request not marked sent after this long lost its message (the enqueue failed half-way). */
export const UNSENT_GRACE_IN_SECONDS = 60
/** A lease expired this long ago whose message never came back is re-sent. */
export const EXPIRED_LEASE_GRACE_IN_SECONDS = 300
const PAGE_LIMIT = 500

/**
 * The repair sweep (cron every minute): re-sends the messages of requests the ledger says are
 * waiting but the queue may not hold — enqueue failed after the ledger write, or a message was
 * lost. Duplicate messages are harmless: the ledger's claim is the fence.
 */
export async function repairStuckRequests(deps: RelayDeps): Promise<{ resent: number }> {
  const now = deps.now().getTime()
  const stuck: RelayRequest[] = []
  for (const state of ['queued', 'leased'] as const) {
    let cursor: string | undefined
    do {
      const page = await deps.ledger.listRequests({ state, limit: PAGE_LIMIT, until: new Date(now - UNSENT_GRACE_IN_SECONDS * 1000).toISOString(), ...(cursor ? { cursor } : {}) })
      for (const request of page.items) if (isStuck(request, now)) stuck.push(request)
      cursor = page.cursor
    } while (cursor)
  }
  if (stuck.length > 0) {
    deps.log.warn('re-sending messages for stuck requests', { count: stuck.length, requestIds: stuck.slice(0, 20).map((request) => request.id) })
    for (let index = 0; index < stuck.length; index += 10) {
      await sendWorkMessages(deps, stuck.slice(index, index + 10).map((request) => ({ requestId: request.id, recordKey: request.recordKey })))
    }
  }
  deps.metrics.gauge('RepairedRequests', stuck.length, 'Count')
  return { resent: stuck.length }
}

function isStuck(request: RelayRequest, now: number): boolean {
  const ageSeconds = (now - Date.parse(request.updatedAt)) / 1000
  if (request.state === 'queued') return !request.sentAt && ageSeconds > UNSENT_GRACE_IN_SECONDS
  if (request.state === 'leased' && request.lease) return (now - Date.parse(request.lease.expiresAt)) / 1000 > EXPIRED_LEASE_GRACE_IN_SECONDS
  return false
}

/**
 * A message the queue redrove to its dead-letter queue (received too often without completion):
 * the request is dead-lettered in the ledger, where it is listed and can be replayed.
 * Returns false for a message that could not be handled (the caller reports a batch failure).
 */
export async function handleRedrivenMessage(deps: RelayDeps, message: { body: string; receiveCount: number; messageId: string }): Promise<boolean> {
  const work = decodeWorkMessage(message.body)
  if (!work) {
    deps.log.error('dead-letter queue holds a message hookferry did not write; dropping it', { messageId: message.messageId, body: message.body.slice(0, 200) })
    return true
  }
  const now = deps.now()
  const result = await deps.ledger.mutateRecord(work.recordKey, [work.requestId], (snapshot) =>
    decideRedriven(snapshot, { requestId: work.requestId, receiveCount: message.receiveCount, now, nextRequestId: deps.newId() }),
  )
  if (result.deadLettered) {
    deps.log.warn('request dead-lettered by queue redrive', { requestId: work.requestId, receiveCount: message.receiveCount })
    deps.metrics.count('RequestsDeadLettered')
  }
  if (result.next) await sendWorkMessages(deps, [{ requestId: result.next.id, recordKey: result.next.recordKey }])
  return true
}

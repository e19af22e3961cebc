import { MAX_RECEIVE_MESSAGES, type QueueMessage } from '../ports/queue.ts'
import type { AckItem, AckResponse, ExtendRequest, ExtendResponse, HeartbeatRequest, HeartbeatResponse, LeaseGrant, PullRequest, PullResponse } from './agent-api.ts'
import { MAX_DELAY_IN_SECONDS, fullJitterDelaySeconds } from './backoff.ts'
import type { RelayDeps } from './deps.ts'
import { sendWorkMessages } from './work-messages.ts'
import { takeOverEarlierIncarnations } from './incarnation.ts'
import { decodeLease, encodeLease, type LeaseRef } from './lease-token.ts'
import { decodeWorkMessage } from './queue-message.ts'
import { decideClaim, decideExtend, decideFinish, decideRelease, decideRetry, type FinishResult } from './record-machine.ts'
import { syncGrantOf } from './sync/run-state.ts'
import { lagSecondsOf, reportRunEnd } from './sync/sync-service.ts'
import type { RelayRequest } from './types.ts'

/** The queue hides a leased message a little longer than the ledger lease, so a redelivery finds the lease expired. */
const VISIBILITY_MARGIN_IN_SECONDS = 2
/** `count` messages as receive sizes of at most MAX_RECEIVE_MESSAGES. */
function receiveBatches(count: number): number[] {
  return Array.from({ length: Math.ceil(count / MAX_RECEIVE_MESSAGES) }, (_, index) => Math.min(MAX_RECEIVE_MESSAGES, count - index * MAX_RECEIVE_MESSAGES))
}

/**
 * POST /agent/v1/pull: records the acks it carries (as POST /ack would), then long-polls the
 * queue and leases what the ledger allows.
 */
export async function pullLeases(deps: RelayDeps, agentId: string, pull: PullRequest): Promise<PullResponse> {
  const acked = pull.acks && pull.acks.length > 0 ? await ackLeases(deps, agentId, pull.acks) : undefined
  const { leases } = await leaseWork(deps, agentId, pull)
  return acked ? { leases, acks: acked.results } : { leases }
}

async function leaseWork(deps: RelayDeps, agentId: string, pull: PullRequest): Promise<PullResponse> {
  const leaseSeconds = pull.leaseSeconds ?? deps.config.lease.defaultSeconds
  const deadline = Date.now() + pull.waitSeconds * 1000
  await takeOverEarlierIncarnations(deps, agentId, pull.incarnation)
  const leases: LeaseGrant[] = []
  const visibilitySeconds = leaseSeconds + VISIBILITY_MARGIN_IN_SECONDS
  const receive = (maxMessages: number, waitSeconds: number) => deps.queue.receive({ maxMessages, waitSeconds, visibilitySeconds, ...(deps.signal ? { signal: deps.signal } : {}) })
  do {
    const waitSeconds = Math.max(0, Math.ceil((deadline - Date.now()) / 1000))
    const wanted = pull.max - leases.length
    const firstSize = Math.min(MAX_RECEIVE_MESSAGES, wanted)
    const first = await receive(firstSize, waitSeconds)
    // A full first batch means more is waiting: take the rest at once, in receives started
    // together (on SQLite they share one commit), not one long poll after another.
    const rest = first.length === firstSize && wanted > firstSize ? await Promise.all(receiveBatches(wanted - firstSize).map((size) => receive(size, 0))) : []
    const messages = [first, ...rest].flat()
    const granted = await Promise.all(
      messages.map((message) =>
        claimMessage(deps, agentId, leaseSeconds, message, pull.incarnation).catch((error: unknown) => {
          // The message stays hidden for the lease and comes back: nothing is lost, only delayed.
          deps.log.error('could not lease a received message', { messageId: message.messageId, error: String(error) })
          return undefined
        }),
      ),
    )
    for (const grant of granted) if (grant) leases.push(grant)
    // Stale messages were consumed without a grant: keep waiting while the poll has time left.
  } while (leases.length === 0 && Date.now() < deadline && !deps.signal?.aborted)
  if (leases.length > 0) deps.metrics.count('LeasesGranted', leases.length)
  return { leases }
}

async function claimMessage(deps: RelayDeps, agentId: string, leaseSeconds: number, message: QueueMessage, incarnation: string | undefined): Promise<LeaseGrant | undefined> {
  const work = decodeWorkMessage(message.body)
  if (!work) {
    deps.log.error('removing a queue message hookferry did not write', { messageId: message.messageId, body: message.body.slice(0, 200) })
    await deps.queue.delete(message.receipt)
    return undefined
  }
  const leaseId = deps.newId()
  const now = deps.now()
  const claim = await deps.ledger.mutateRecord(work.recordKey, [work.requestId], (snapshot) =>
    decideClaim(snapshot, { requestId: work.requestId, leaseId, agentId, leaseSeconds, now, nextRequestId: deps.newId(), lagSecondsOf: lagSecondsOf(deps.config), ...(incarnation ? { incarnation } : {}) }),
  )
  switch (claim.status) {
    case 'claimed':
      return toGrant(claim.request, { requestId: work.requestId, recordKey: work.recordKey, leaseId, receipt: message.receipt })
    case 'not_yet':
      await deps.queue.changeVisibility(message.receipt, Math.min(claim.retryInSeconds, MAX_DELAY_IN_SECONDS))
      return undefined
    case 'exhausted':
      deps.log.warn('request dead-lettered: attempts used up by expired leases', { requestId: work.requestId })
      deps.metrics.count('RequestsDeadLettered')
      if (claim.next) await sendWorkMessages(deps, [{ requestId: claim.next.id, recordKey: claim.next.recordKey }])
      await deps.queue.delete(message.receipt)
      return undefined
    case 'gone':
      await deps.queue.delete(message.receipt)
      return undefined
  }
}

function toGrant(request: RelayRequest, ref: LeaseRef): LeaseGrant {
  const last = request.events.at(-1)
  const sync = syncGrantOf(request)
  return {
    lease: encodeLease(ref),
    requestId: request.id,
    source: request.source,
    recordId: request.recordId,
    ...(request.recordType ? { recordType: request.recordType } : {}),
    ...(last?.event ? { event: last.event } : {}),
    events: request.events,
    eventCount: request.eventCount,
    attempt: request.attempts,
    maxAttempts: request.maxAttempts,
    leaseExpiresAt: request.lease!.expiresAt,
    mode: request.mode,
    ...(request.payload === undefined ? {} : { payload: request.payload }),
    ...(sync ? { sync } : {}),
  }
}

/** POST /agent/v1/ack: records each outcome, then moves the queue message accordingly. */
export async function ackLeases(deps: RelayDeps, agentId: string, acks: readonly AckItem[]): Promise<AckResponse> {
  const results = await Promise.all(acks.map((ack) => ackOne(deps, agentId, ack)))
  return { results }
}

async function ackOne(deps: RelayDeps, agentId: string, ack: AckItem): Promise<AckResponse['results'][number]> {
  let ref: LeaseRef
  try {
    ref = decodeLease(ack.lease)
  } catch {
    return { lease: ack.lease, status: 'invalid_lease' }
  }
  const now = deps.now()
  const common = { requestId: ref.requestId, leaseId: ref.leaseId, agentId, now, retentionSeconds: deps.config.retention.doneSeconds, nextRequestId: deps.newId() }
  const result: FinishResult = await deps.ledger.mutateRecord(ref.recordKey, [ref.requestId], (snapshot) => {
    switch (ack.outcome) {
      case 'done':
        return decideFinish(snapshot, { ...common, outcome: 'done', ...(ack.reply ? { reply: ack.reply } : {}), ...(ack.note ? { note: ack.note } : {}), ...(ack.sync ? { sync: ack.sync } : {}) })
      case 'fail':
        return decideFinish(snapshot, { ...common, outcome: 'fail', error: ack.error })
      case 'retry': {
        const attempts = snapshot.requests.get(ref.requestId)?.attempts ?? 1
        const delaySeconds = ack.delaySeconds ?? fullJitterDelaySeconds(attempts, deps.config.retry, deps.random)
        return decideRetry(snapshot, { ...common, error: ack.error, delaySeconds: Math.min(delaySeconds, MAX_DELAY_IN_SECONDS) })
      }
      case 'release':
        return decideRelease(snapshot, { ...common, ...(ack.delaySeconds === undefined ? {} : { delaySeconds: Math.min(ack.delaySeconds, MAX_DELAY_IN_SECONDS) }), ...(ack.error ? { error: ack.error } : {}) })
    }
  })
  if (result.status === 'lease_lost') return { lease: ack.lease, requestId: ref.requestId, status: 'lease_lost' }

  // The ledger has decided; the queue only follows. If a queue call fails the message comes back
  // after its visibility timeout and the claim sees the ledger's state (not yet due, or gone).
  const followQueue = (what: string, operation: () => Promise<void>) =>
    operation().catch((error: unknown) => deps.log.warn(`could not ${what} after an ack; the ledger already holds the outcome`, { requestId: ref.requestId, error: String(error) }))
  if (result.request.state === 'queued') {
    const delay = result.nextAttemptAt ? Math.ceil((Date.parse(result.nextAttemptAt) - now.getTime()) / 1000) : 0
    await followQueue('reschedule the message', () => deps.queue.changeVisibility(ref.receipt, Math.min(Math.max(delay, 0), MAX_DELAY_IN_SECONDS)))
    deps.metrics.count(ack.outcome === 'release' ? 'LeasesReleased' : 'RequestsRetried')
  } else {
    const next = result.next
    // An unsent follow-up is re-sent by the repair sweep (it is not marked sent).
    if (next) await followQueue('send the follow-up request', () => sendWorkMessages(deps, [{ requestId: next.id, recordKey: next.recordKey }]))
    await followQueue('delete the message', () => deps.queue.delete(ref.receipt))
    deps.metrics.count(result.request.state === 'done' ? 'RequestsDone' : 'RequestsDeadLettered')
    if (result.request.state === 'dead') deps.log.warn('request dead-lettered', { requestId: ref.requestId, source: result.request.source, error: result.request.lastError?.message })
    if (result.request.sync) reportRunEnd(deps, result.request, now)
  }
  return {
    lease: ack.lease,
    requestId: ref.requestId,
    status: result.status,
    ...(result.nextAttemptAt ? { nextAttemptAt: result.nextAttemptAt } : {}),
  }
}

/** POST /agent/v1/extend: lengthens live leases (ledger first, then the message's visibility). */
export async function extendLeases(deps: RelayDeps, agentId: string, request: ExtendRequest): Promise<ExtendResponse> {
  const results = await Promise.all(
    request.leases.map(async ({ lease, seconds }): Promise<ExtendResponse['results'][number]> => {
      let ref: LeaseRef
      try {
        ref = decodeLease(lease)
      } catch {
        return { lease, status: 'invalid_lease' }
      }
      const now = deps.now()
      const result = await deps.ledger.mutateRecord(ref.recordKey, [ref.requestId], (snapshot) =>
        decideExtend(snapshot, { requestId: ref.requestId, leaseId: ref.leaseId, agentId, seconds, now }),
      )
      if (result.status !== 'ok') return { lease, status: result.status }
      await deps.queue.changeVisibility(ref.receipt, Math.min(seconds + VISIBILITY_MARGIN_IN_SECONDS, MAX_DELAY_IN_SECONDS)).catch((error: unknown) => {
        // The ledger lease is what counts: a message that reappears early is hidden again by the claim.
        deps.log.warn('could not extend the message visibility', { requestId: ref.requestId, error: String(error) })
      })
      return { lease, status: 'ok', leaseExpiresAt: result.leaseExpiresAt }
    }),
  )
  return { results }
}

/** POST /agent/v1/heartbeat: remembers that the agent is alive (alerts fire when none is). */
export async function recordHeartbeat(deps: RelayDeps, agentId: string, beat: HeartbeatRequest): Promise<HeartbeatResponse> {
  const serverTime = deps.now().toISOString()
  await deps.ledger.recordHeartbeat({
    agentId,
    version: beat.version,
    inFlight: beat.inFlight,
    lastHeartbeatAt: serverTime,
    ...(beat.hostname ? { hostname: beat.hostname } : {}),
    ...(beat.breakers.length > 0 ? { breakers: beat.breakers } : {}),
  })
  return { agentId, serverTime }
}


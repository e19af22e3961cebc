import type { RecordMutation, RecordSnapshot } from '../ports/ledger.ts'
import { iso, keepLast, recordPointingAt } from './record-state.ts'
import type { SyncProgress } from './agent-api.ts'
import { applyProgress, isSyncRun, jobAfterRun, reclaimTriggers, stampRunEnd, startRun } from './sync/run-state.ts'
import {
  MAX_EVENTS_KEPT,
  MAX_HISTORY_KEPT,
  type AttemptOutcome,
  type ErrorSummary,
  type EventRef,
  type RecordState,
  type RelayRequest,
  type SyncReply,
} from './types.ts'

/**
 * The per-record state machine, as pure `decide` functions for Ledger.mutateRecord. It is the one
 * place that enforces invariants 2 and 3: a waiting record is never queued twice, an event during
 * processing causes exactly one more fetch afterwards, and only one request per record is leased.
 */

/** What a new request is made of; the rest (state, attempts, history…) starts empty. */
export type NewRequestSpec = Pick<RelayRequest, 'id' | 'source' | 'recordKey' | 'recordId' | 'recordType' | 'mode' | 'maxAttempts'>

export interface EventInput {
  request: NewRequestSpec
  event: EventRef
  payload?: unknown
  now: Date
}

export type EventOutcome = 'created' | 'coalesced' | 'deferred'
export interface EventResult {
  outcome: EventOutcome
  /** The request this event is folded into (for deferred: the one being processed). */
  requestId: string
  /** The queue must be (re)sent a message for `requestId`. */
  send: boolean
}


function newRequest(spec: NewRequestSpec, events: EventRef[], eventCount: number, now: Date, payload: unknown): RelayRequest {
  return {
    ...spec,
    ...(payload === undefined ? {} : { payload }),
    state: 'queued',
    createdAt: iso(now),
    updatedAt: iso(now),
    events: keepLast(events, MAX_EVENTS_KEPT),
    eventCount,
    attempts: 0,
    history: [],
    rev: 0,
  }
}


/** A webhook event for one record: create, coalesce into the waiting request, or defer. */
export function decideEvent(snapshot: RecordSnapshot, input: EventInput): RecordMutation<EventResult> {
  const { request: spec, event, payload, now } = input
  const record = snapshot.record
  const current = record?.requestId ? snapshot.requests.get(record.requestId) : undefined

  if (record?.state === 'queued' && current?.state === 'queued') {
    const updated: RelayRequest = {
      ...current,
      events: keepLast([...current.events, event], MAX_EVENTS_KEPT),
      eventCount: current.eventCount + 1,
      updatedAt: iso(now),
      ...(payload === undefined ? {} : { payload }),
    }
    return { requests: [updated], result: { outcome: 'coalesced', requestId: current.id, send: !current.sentAt } }
  }

  if (record?.state === 'processing' && current?.state === 'leased') {
    // The follow-up request exists from the first deferred event on, so the id in the 202 can be
    // followed (`hookferry show`); it is queued when the current request ends.
    const waiting = record.nextRequestId ? snapshot.requests.get(record.nextRequestId) : undefined
    const deferred: RelayRequest =
      waiting?.state === 'deferred'
        ? { ...waiting, events: keepLast([...waiting.events, event], MAX_EVENTS_KEPT), eventCount: waiting.eventCount + 1, updatedAt: iso(now) }
        : { ...newRequest(spec, [event], 1, now, undefined), state: 'deferred' }
    const updated: RecordState = {
      ...record,
      dirty: true,
      nextRequestId: deferred.id,
      pendingEvents: keepLast([...record.pendingEvents, event], MAX_EVENTS_KEPT),
      updatedAt: iso(now),
      ...(payload === undefined ? {} : { pendingPayload: payload }),
    }
    return { record: updated, requests: [deferred], result: { outcome: 'deferred', requestId: deferred.id, send: false } }
  }

  const created = newRequest(spec, [event], 1, now, payload)
  return {
    record: recordPointingAt(snapshot, spec.source, spec.recordKey, 'queued', created.id, now),
    requests: [created],
    result: { outcome: 'created', requestId: created.id, send: true },
  }
}

export interface ClaimInput {
  requestId: string
  leaseId: string
  agentId: string
  leaseSeconds: number
  now: Date
  /** Id for a follow-up request, used only if the request is dead-lettered with events pending. */
  nextRequestId: string
  /** Sync runs: the job's lag (seconds), which fixes the run's upper bound at its first lease. */
  lagSecondsOf?: (source: string, job: string) => number
  /** The pulling agent process (see PullRequest.incarnation). */
  incarnation?: string
}

export type ClaimResult =
  | { status: 'claimed'; request: RelayRequest }
  /** The request is finished or unknown: the message is stale, delete it. */
  | { status: 'gone' }
  /** Leased by a live lease, or waiting for its retry time: hide the message this long. */
  | { status: 'not_yet'; retryInSeconds: number }
  /** Attempts used up while leases kept expiring: dead-lettered now. */
  | { status: 'exhausted'; next?: RelayRequest }

/** An agent received the request's message: lease it, unless the ledger says otherwise. */
export function decideClaim(stored: RecordSnapshot, input: ClaimInput): RecordMutation<ClaimResult> {
  const { requestId, now } = input
  const snapshot = runClaimView(stored, requestId)
  const request = snapshot.requests.get(requestId)
  if (!request || (request.state !== 'queued' && request.state !== 'leased')) return { result: { status: 'gone' } }

  const secondsUntil = (at: string) => Math.ceil((Date.parse(at) - now.getTime()) / 1000)
  if (request.state === 'leased' && request.lease && secondsUntil(request.lease.expiresAt) > 0) {
    return { result: { status: 'not_yet', retryInSeconds: secondsUntil(request.lease.expiresAt) + 1 } }
  }
  if (request.state === 'queued' && request.nextAttemptAt && secondsUntil(request.nextAttemptAt) > 0) {
    return { result: { status: 'not_yet', retryInSeconds: secondsUntil(request.nextAttemptAt) } }
  }

  // A lease that expired without an ack: the agent crashed or lost the network.
  const history = request.state === 'leased' ? closeAttempt(request, 'lease_expired', now, { message: 'lease expired without an ack' }) : request.history
  const lastError = request.state === 'leased' ? { code: 'lease.expired', message: 'lease expired without an ack (agent crashed or lost contact)' } : request.lastError

  if (request.attempts >= request.maxAttempts) {
    const dead: RelayRequest = { ...withoutLease(request), state: 'dead', history, updatedAt: iso(now), ...(lastError ? { lastError } : {}) }
    return finishRecord(snapshot, dead, now, (next) => ({ status: 'exhausted', ...(next ? { next } : {}) }), input)
  }

  const leased: RelayRequest = {
    ...withoutLease(request),
    state: 'leased',
    attempts: request.attempts + 1,
    lease: { id: input.leaseId, agentId: input.agentId, expiresAt: new Date(now.getTime() + input.leaseSeconds * 1000).toISOString(), ...(input.incarnation ? { incarnation: input.incarnation } : {}) },
    history: keepLast([...history, { attempt: request.attempts + 1, agentId: input.agentId, leaseId: input.leaseId, startedAt: iso(now) }], MAX_HISTORY_KEPT),
    updatedAt: iso(now),
    ...(lastError ? { lastError } : {}),
  }
  delete leased.nextAttemptAt
  const processing: RecordState = {
    ...(snapshot.record ?? recordPointingAt(snapshot, request.source, request.recordKey, 'processing', request.id, now)),
    state: 'processing',
    requestId: request.id,
    updatedAt: iso(now),
  }
  // A sync run's first lease fixes what it reads; afterwards this is a no-op.
  const started = startRun(leased, processing, now, input.lagSecondsOf?.(request.source, request.recordId) ?? 0)
  return { record: started.record, requests: [started.request], result: { status: 'claimed', request: started.request } }
}

/** The snapshot as a sync run's claim sees it: triggers a retry folded into a started run wait for one more run. */
function runClaimView(snapshot: RecordSnapshot, requestId: string): RecordSnapshot {
  const request = snapshot.requests.get(requestId)
  if (!request || !isSyncRun(request) || snapshot.record?.requestId !== requestId) return snapshot
  const reclaimed = reclaimTriggers(request, snapshot.record)
  if (reclaimed.request === request) return snapshot
  return { record: reclaimed.record, requests: new Map(snapshot.requests).set(requestId, reclaimed.request) }
}

export type LeaseCheck = { ok: true; request: RelayRequest } | { ok: false }

/** The request, if `leaseId` held by `agentId` is still its live lease. */
export function checkLease(snapshot: RecordSnapshot, requestId: string, leaseId: string, agentId: string): LeaseCheck {
  const request = snapshot.requests.get(requestId)
  if (!request || request.state !== 'leased' || request.lease?.id !== leaseId || request.lease.agentId !== agentId) return { ok: false }
  return { ok: true, request }
}

export interface FinishInput {
  requestId: string
  leaseId: string
  agentId: string
  now: Date
  /** Finished requests expire from the ledger after this long. */
  retentionSeconds: number
  /** Id for the follow-up request, used only if events arrived while processing. */
  nextRequestId: string
}

export type FinishResult =
  | { status: 'lease_lost' }
  | { status: 'ok' | 'dead_lettered'; request: RelayRequest; next?: RelayRequest; nextAttemptAt?: string }

/** The agent finished: done (optionally with a sync reply), or failed for good. */
export function decideFinish(
  snapshot: RecordSnapshot,
  input: FinishInput & ({ outcome: 'done'; reply?: SyncReply; note?: string; sync?: SyncProgress } | { outcome: 'fail'; error: ErrorSummary }),
): RecordMutation<FinishResult> {
  const check = checkLease(snapshot, input.requestId, input.leaseId, input.agentId)
  if (!check.ok) return { result: { status: 'lease_lost' } }
  const { request } = check
  const { now } = input
  if (input.outcome === 'done') {
    const done: RelayRequest = {
      ...withoutLease(request),
      state: 'done',
      history: closeAttempt(request, 'done', now, input.note ? { message: input.note } : undefined),
      updatedAt: iso(now),
      expiresAt: Math.floor(now.getTime() / 1000) + input.retentionSeconds,
      ...(input.reply ? { reply: input.reply } : {}),
      ...(request.sync && input.sync ? { sync: applyProgress(request.sync, input.sync, false) } : {}),
    }
    return finishRecord(snapshot, done, now, (next) => ({ status: 'ok', request: done, ...(next ? { next } : {}) }), input)
  }
  const dead: RelayRequest = {
    ...withoutLease(request),
    state: 'dead',
    lastError: input.error,
    history: closeAttempt(request, 'fail', now, input.error),
    updatedAt: iso(now),
  }
  return finishRecord(snapshot, dead, now, (next) => ({ status: 'dead_lettered', request: dead, ...(next ? { next } : {}) }), input)
}

/** The agent asks for another attempt later; dead-letters when attempts are used up. */
export function decideRetry(
  snapshot: RecordSnapshot,
  input: FinishInput & { error: ErrorSummary; delaySeconds: number },
): RecordMutation<FinishResult> {
  const check = checkLease(snapshot, input.requestId, input.leaseId, input.agentId)
  if (!check.ok) return { result: { status: 'lease_lost' } }
  const { request } = check
  if (request.attempts >= request.maxAttempts) {
    return decideFinish(snapshot, { ...input, outcome: 'fail', error: { ...input.error, message: `${input.error.message} (gave up after ${request.attempts} attempts)` } })
  }
  const { now } = input
  const nextAttemptAt = new Date(now.getTime() + input.delaySeconds * 1000).toISOString()
  return requeue(snapshot, request, now, {
    history: closeAttempt(request, 'retry', now, input.error),
    lastError: input.error,
    nextAttemptAt,
  })
}

/**
 * The agent gives the lease back without counting the attempt: it is shutting down, or the far
 * side is unavailable (an outage is not the record's fault). With `delaySeconds`, it waits that long.
 */
export function decideRelease(
  snapshot: RecordSnapshot,
  input: Omit<FinishInput, 'retentionSeconds' | 'nextRequestId'> & { delaySeconds?: number; error?: ErrorSummary },
): RecordMutation<FinishResult> {
  const check = checkLease(snapshot, input.requestId, input.leaseId, input.agentId)
  if (!check.ok) return { result: { status: 'lease_lost' } }
  const { request } = check
  const delayed = input.delaySeconds ? { nextAttemptAt: new Date(input.now.getTime() + input.delaySeconds * 1000).toISOString() } : {}
  return requeue(snapshot, request, input.now, {
    history: closeAttempt(request, 'released', input.now, input.error),
    attempts: Math.max(request.attempts - 1, 0),
    ...delayed,
  })
}

/** The agent needs longer: move the lease's expiry. */
export function decideExtend(
  snapshot: RecordSnapshot,
  input: { requestId: string; leaseId: string; agentId: string; seconds: number; now: Date },
): RecordMutation<{ status: 'ok'; leaseExpiresAt: string } | { status: 'lease_lost' }> {
  const check = checkLease(snapshot, input.requestId, input.leaseId, input.agentId)
  if (!check.ok || !check.request.lease || Date.parse(check.request.lease.expiresAt) <= input.now.getTime()) {
    return { result: { status: 'lease_lost' } }
  }
  const leaseExpiresAt = new Date(input.now.getTime() + input.seconds * 1000).toISOString()
  const request: RelayRequest = { ...check.request, lease: { ...check.request.lease, expiresAt: leaseExpiresAt }, updatedAt: iso(input.now) }
  return { requests: [request], result: { status: 'ok', leaseExpiresAt } }
}

/** The queue gave up on a message (redrive to the dead-letter queue): dead-letter its request. */
export function decideRedriven(snapshot: RecordSnapshot, input: { requestId: string; receiveCount: number; now: Date; nextRequestId: string }): RecordMutation<{ next?: RelayRequest; deadLettered: boolean }> {
  const request = snapshot.requests.get(input.requestId)
  if (!request || (request.state !== 'queued' && request.state !== 'leased')) return { result: { deadLettered: false } }
  const error = { code: 'queue.redriven', message: `the queue gave up after ${input.receiveCount} receives without completion` }
  const dead: RelayRequest = {
    ...withoutLease(request),
    state: 'dead',
    lastError: error,
    history: request.state === 'leased' ? closeAttempt(request, 'lease_expired', input.now, error) : request.history,
    updatedAt: iso(input.now),
  }
  return finishRecord(snapshot, dead, input.now, (next) => ({ deadLettered: true, ...(next ? { next } : {}) }), input)
}

function withoutLease(request: RelayRequest): RelayRequest {
  const copy = { ...request }
  delete copy.lease
  return copy
}

function closeAttempt(request: RelayRequest, outcome: AttemptOutcome, now: Date, error?: ErrorSummary) {
  return request.history.map((attempt) =>
    attempt.leaseId === request.lease?.id && !attempt.endedAt
      ? { ...attempt, endedAt: iso(now), outcome, durationMs: now.getTime() - Date.parse(attempt.startedAt), ...(error ? { error } : {}) }
      : attempt,
  )
}

/** How long a deferred request folded into a retried one stays listed. */
const FOLDED_RETENTION_IN_SECONDS = 7 * 86_400

/**
 * Back to queued; events that arrived meanwhile are folded in (the next fetch sees them), so the
 * deferred request made for them is discarded with a pointer to this one.
 */
function requeue(snapshot: RecordSnapshot, request: RelayRequest, now: Date, changes: Partial<RelayRequest>): RecordMutation<FinishResult> {
  const record = snapshot.record
  const pending = record?.pendingEvents ?? []
  const waiting = record?.nextRequestId ? snapshot.requests.get(record.nextRequestId) : undefined
  const folded: RelayRequest[] =
    waiting?.state === 'deferred'
      ? [{ ...waiting, state: 'discarded', discardReason: `folded into request ${request.id}, which is retried with these events`, updatedAt: iso(now), expiresAt: Math.floor(now.getTime() / 1000) + FOLDED_RETENTION_IN_SECONDS }]
      : []
  const queued: RelayRequest = {
    ...withoutLease(request),
    ...changes,
    state: 'queued',
    events: keepLast([...request.events, ...pending], MAX_EVENTS_KEPT),
    eventCount: request.eventCount + pending.length,
    updatedAt: iso(now),
    ...(record?.pendingPayload === undefined ? {} : { payload: record.pendingPayload }),
  }
  if (!changes.nextAttemptAt) delete queued.nextAttemptAt
  return {
    record: { ...recordPointingAt(snapshot, request.source, request.recordKey, 'queued', request.id, now) },
    requests: [queued, ...folded],
    result: { status: 'ok', request: queued, ...(changes.nextAttemptAt ? { nextAttemptAt: changes.nextAttemptAt } : {}) },
  }
}

/**
 * The request ended (done or dead). If events arrived while it was processing, exactly one
 * follow-up request is created for them; otherwise the record goes idle.
 */
export function finishRecord<R>(
  stored: RecordSnapshot,
  endedRequest: RelayRequest,
  now: Date,
  toResult: (next: RelayRequest | undefined) => R,
  input?: { nextRequestId: string; retentionSeconds?: number },
): RecordMutation<R> {
  const { snapshot, ended } = endRun(stored, endedRequest, now)
  const record = snapshot.record
  const owned = record?.requestId === ended.id
  if (owned && record.dirty && record.pendingEvents.length > 0 && input) {
    // The deferred request made at the first event during processing, else (events folded in by a
    // replay) a new one.
    const waiting = record.nextRequestId ? snapshot.requests.get(record.nextRequestId) : undefined
    const fresh = newRequest(
      { id: input.nextRequestId, source: ended.source, recordKey: ended.recordKey, recordId: ended.recordId, mode: ended.mode, maxAttempts: ended.maxAttempts, ...(ended.recordType ? { recordType: ended.recordType } : {}) },
      record.pendingEvents,
      record.pendingEvents.length,
      now,
      record.pendingPayload,
    )
    const next: RelayRequest = waiting?.state === 'deferred' ? { ...fresh, id: waiting.id, createdAt: waiting.createdAt, rev: waiting.rev } : fresh
    return {
      record: recordPointingAt(snapshot, ended.source, ended.recordKey, 'queued', next.id, now),
      requests: [ended, next],
      result: toResult(next),
    }
  }
  if (!owned) return { requests: [ended], result: toResult(undefined) }
  const idle: RecordState = {
    ...recordPointingAt(snapshot, ended.source, ended.recordKey, 'idle', ended.id, now),
    // A sync job's record holds its watermark: it never expires.
    ...(input?.retentionSeconds && !isSyncRun(ended) ? { expiresAt: Math.floor(now.getTime() / 1000) + input.retentionSeconds } : {}),
  }
  return { record: idle, requests: [ended], result: toResult(undefined) }
}

/** A sync run's end moves its job's state (last run; the watermark when done), which every record written below carries. */
function endRun(snapshot: RecordSnapshot, ended: RelayRequest, now: Date): { snapshot: RecordSnapshot; ended: RelayRequest } {
  const record = snapshot.record
  if (!isSyncRun(ended) || !record || record.requestId !== ended.id) return { snapshot, ended }
  const stamped = stampRunEnd(ended, now)
  return { snapshot: { ...snapshot, record: { ...record, job: jobAfterRun(record.job ?? {}, stamped, now) } }, ended: stamped }
}

/**
 * The agent restarted (a newer process pulled under the same agent id): the lease its earlier
 * process held is ended now rather than at its expiry, as if it had expired (the attempt counts,
 * as a crash does), and the request is queued again. The old process's late ack is then refused
 * (its lease id is gone), which keeps the fencing intact.
 */
export function decideTakeOver(snapshot: RecordSnapshot, input: { requestId: string; leaseId: string; now: Date }): RecordMutation<{ status: 'requeued' | 'moved_on' }> {
  const request = snapshot.requests.get(input.requestId)
  if (!request || request.state !== 'leased' || request.lease?.id !== input.leaseId) return { result: { status: 'moved_on' } }
  const error = { code: 'lease.taken_over', message: 'the agent restarted: the lease of its previous process was taken back' }
  const { record, requests = [] } = requeue(snapshot, request, input.now, { history: closeAttempt(request, 'lease_expired', input.now, error), lastError: error })
  // Not marked sent until its new wake-up is confirmed: the repair sweep re-sends it otherwise.
  const unsent = requests.map((each) => {
    if (each.id !== request.id) return each
    const copy = { ...each }
    delete copy.sentAt
    return copy
  })
  return { ...(record ? { record } : {}), requests: unsent, result: { status: 'requeued' } }
}

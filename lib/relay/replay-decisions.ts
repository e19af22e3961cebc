import type { RecordMutation, RecordSnapshot } from '../ports/ledger.ts'
import { iso, keepLast, recordPointingAt } from './record-state.ts'
import { MAX_EVENTS_KEPT, type RecordState, type RelayRequest } from './types.ts'

/** Dead letters: replay and discard, as decide functions for Ledger.mutateRecord (see record-machine.ts). */
export type ReplayResult =
  | { status: 'not_dead'; state?: RelayRequest['state'] }
  /** Queued again as the record's current request: send its message. */
  | { status: 'requeued'; request: RelayRequest }
  /** The record already has work waiting or running: the dead request's events were folded into it. */
  | { status: 'folded'; intoRequestId: string; send: boolean }

/**
 * Replays a dead letter. The record's latest state is what gets delivered, once: if the record is
 * idle the request is queued again with fresh attempts; if other work for the record is waiting
 * or running, the dead request is folded into it (invariants 2 and 3 still hold).
 */
export function decideReplay(snapshot: RecordSnapshot, input: { requestId: string; now: Date; by: string }): RecordMutation<ReplayResult> {
  const { now } = input
  const dead = snapshot.requests.get(input.requestId)
  if (!dead || dead.state !== 'dead') return { result: { status: 'not_dead', ...(dead ? { state: dead.state } : {}) } }
  const record = snapshot.record
  const current = record?.requestId && record.requestId !== dead.id ? snapshot.requests.get(record.requestId) : undefined
  const folded = (into: string): RelayRequest => ({ ...dead, state: 'discarded', discardReason: `replayed by ${input.by}: folded into request ${into}`, updatedAt: iso(now) })

  if (record?.state === 'queued' && current?.state === 'queued') {
    const merged: RelayRequest = { ...current, events: keepLast([...current.events, ...dead.events], MAX_EVENTS_KEPT), eventCount: current.eventCount + dead.eventCount, updatedAt: iso(now) }
    return { requests: [merged, folded(current.id)], result: { status: 'folded', intoRequestId: current.id, send: !current.sentAt } }
  }
  if (record?.state === 'processing' && current?.state === 'leased') {
    const dirty: RecordState = { ...record, dirty: true, pendingEvents: keepLast([...record.pendingEvents, ...dead.events], MAX_EVENTS_KEPT), updatedAt: iso(now) }
    return { record: dirty, requests: [folded(current.id)], result: { status: 'folded', intoRequestId: current.id, send: false } }
  }
  const requeued: RelayRequest = { ...dead, state: 'queued', attempts: 0, updatedAt: iso(now) }
  delete requeued.sentAt
  delete requeued.nextAttemptAt
  delete requeued.expiresAt
  return {
    record: recordPointingAt(snapshot, dead.source, dead.recordKey, 'queued', dead.id, now),
    requests: [requeued],
    result: { status: 'requeued', request: requeued },
  }
}

/** Discards a dead letter with a reason; it then expires like a finished request. */
export function decideDiscard(snapshot: RecordSnapshot, input: { requestId: string; reason: string; by: string; now: Date; retentionSeconds: number }): RecordMutation<{ status: 'discarded' | 'not_dead' }> {
  const dead = snapshot.requests.get(input.requestId)
  if (!dead || dead.state !== 'dead') return { result: { status: 'not_dead' } }
  const discarded: RelayRequest = {
    ...dead,
    state: 'discarded',
    discardReason: `${input.reason} (by ${input.by})`,
    updatedAt: iso(input.now),
    expiresAt: Math.floor(input.now.getTime() / 1000) + input.retentionSeconds,
  }
  return { requests: [discarded], result: { status: 'discarded' } }
}

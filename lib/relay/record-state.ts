import type { RecordSnapshot } from '../ports/ledger.ts'
import type { RecordState } from './types.ts'

/** Small helpers the record state machine's decide functions share. */
export const iso = (now: Date): string => now.toISOString()

/** The last `max` items (events and history are bounded so ledger items stay small). */
export const keepLast = <T>(items: T[], max: number): T[] => (items.length > max ? items.slice(items.length - max) : items)

/** A fresh record state pointing at `requestId`, keeping the stored revision. */
export function recordPointingAt(snapshot: RecordSnapshot, source: string, recordKey: string, state: RecordState['state'], requestId: string, now: Date): RecordState {
  return {
    source,
    recordKey,
    state,
    requestId,
    dirty: false,
    pendingEvents: [],
    updatedAt: iso(now),
    // A sync job's watermark outlives every run of the job.
    ...(snapshot.record?.job ? { job: snapshot.record.job } : {}),
    rev: snapshot.record?.rev ?? 0,
  }
}

import { type RecordState, recordKeyOf, type RelayRequest } from '../../lib/relay/types.ts'

export const T0 = '2031-03-01T12:00:00.000Z'

/** ISO time `seconds` after T0. */
export const at = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1000).toISOString()

/** A queued request for record `shop#42` unless told otherwise. */
export function makeRequest(overrides: Partial<RelayRequest> & Pick<RelayRequest, 'id'>): RelayRequest {
  const source = overrides.source ?? 'shop'
  const recordId = overrides.recordId ?? '42'
  return {
    source,
    recordId,
    recordKey: recordKeyOf(source, recordId),
    mode: 'async',
    state: 'queued',
    createdAt: T0,
    updatedAt: T0,
    events: [{ deliveryId: `evt-${overrides.id}`, event: 'order.updated', receivedAt: T0 }],
    eventCount: 1,
    attempts: 0,
    maxAttempts: 5,
    history: [],
    rev: 0,
    ...overrides,
  }
}

/** The state of record `shop#42`, queued behind `requestId`. */
export function makeRecord(overrides: Partial<RecordState> = {}): RecordState {
  return {
    source: 'shop',
    recordKey: recordKeyOf('shop', '42'),
    state: 'queued',
    requestId: 'r1',
    dirty: false,
    pendingEvents: [],
    updatedAt: T0,
    rev: 0,
    ...overrides,
  }
}

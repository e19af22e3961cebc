import type { RecordMutation, RecordSnapshot } from '../../../lib/ports/ledger.ts'
import type { RecordState, RelayRequest } from '../../../lib/relay/types.ts'

/** A tiny in-memory store that applies mutations, to walk the state machine through sequences. */
export class RecordStore {
  record: RecordState | undefined
  requests = new Map<string, RelayRequest>()
  snapshot(): RecordSnapshot {
    return { record: this.record, requests: new Map(this.requests) }
  }
  apply<T>(mutation: RecordMutation<T>): T {
    if (mutation.record) this.record = mutation.record
    for (const request of mutation.requests ?? []) this.requests.set(request.id, request)
    return mutation.result
  }
  request(id: string): RelayRequest {
    return this.requests.get(id)!
  }
}

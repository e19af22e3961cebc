import type { LeaseGrant } from '../../relay/agent-api.ts'

/** What a fetch found: the record as it is now, or that it no longer exists. */
export type FetchResult = { op: 'upsert'; record: unknown } | { op: 'delete' }

/** Gets the current state of a record from where it lives (a SaaS API, the forwarded webhook body). */
export interface Connector {
  fetch(lease: LeaseGrant, signal?: AbortSignal): Promise<FetchResult>
}

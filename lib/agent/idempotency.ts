import { createHash } from 'node:crypto'
import { recordKeyOf } from '../relay/types.ts'

/**
 * The idempotency key of one change of one record: hex SHA-256 of the source, the record key
 * (type + id) and the version. Without a configured version the request id stands in for it: it
 * stays the same across redeliveries of one request, which is exactly what must be deduplicated.
 */
export function idempotencyKey(change: { source: string; recordId: string; recordType?: string; version?: string; requestId: string }): string {
  const version = change.version === undefined ? `request:${change.requestId}` : `version:${change.version}`
  return createHash('sha256')
    .update(JSON.stringify([recordKeyOf(change.source, change.recordId, change.recordType), version]))
    .digest('hex')
}

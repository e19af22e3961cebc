import { HookferryError } from '../errors.ts'
import { REQUEST_STATES } from '../relay/types.ts'
import type { RequestQuery } from './ledger.ts'

/**
 * Rules both ledger adapters share : query validation,
 * opaque cursors, and when an item with a TTL counts as gone.
 */
export const DEFAULT_LIST_LIMIT = 100
export const MAX_LIST_LIMIT = 1000

/** A listRequests query the caller got wrong (bad limit, time or cursor): a 400, never a retry. */
export class InvalidRequestQueryError extends HookferryError {
  constructor(message: string) {
    super('ledger.query_invalid', message, { statusCode: 400 })
    this.name = 'InvalidRequestQueryError'
  }
}

export interface NormalizedRequestQuery extends Omit<RequestQuery, 'limit'> {
  limit: number
}

/** Validates a query; since/until become full ISO strings so they compare like stored updatedAt values. */
export function normalizeRequestQuery(query: RequestQuery): NormalizedRequestQuery {
  const limit = query.limit ?? DEFAULT_LIST_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InvalidRequestQueryError(`limit must be an integer within 1..${MAX_LIST_LIMIT}`)
  }
  if (query.state !== undefined && !REQUEST_STATES.includes(query.state)) {
    throw new InvalidRequestQueryError(`state must be one of ${REQUEST_STATES.join(', ')}`)
  }
  return { ...query, limit, since: toIsoTime('since', query.since), until: toIsoTime('until', query.until) }
}

function toIsoTime(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const time = new Date(value)
  if (Number.isNaN(time.getTime())) throw new InvalidRequestQueryError(`${name} must be an ISO time`)
  return time.toISOString()
}

/** An opaque page cursor: base64url of JSON. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url')
}

/** Reads a cursor made by encodeCursor; `isValid` checks its shape. */
export function decodeCursor<T>(cursor: string, isValid: (value: unknown) => value is T): T {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    value = undefined
  }
  if (!isValid(value)) throw new InvalidRequestQueryError('cursor is not one this ledger returned')
  return value
}

/** Epoch seconds, the unit of `expiresAt` (DynamoDB TTL). */
export const epochSeconds = (time: Date): number => Math.floor(time.getTime() / 1000)

/** The TTL for something kept at least `ttlSeconds` from `now`. */
export const expiresAtAfter = (now: Date, ttlSeconds: number): number => Math.ceil(now.getTime() / 1000 + ttlSeconds)

/** TTL deletion is lazy (DynamoDB may take days): an item past `expiresAt` is treated as gone on read. */
export function isExpired(expiresAt: number | undefined | null, now: Date): boolean {
  return expiresAt != null && expiresAt <= epochSeconds(now)
}

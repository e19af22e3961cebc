import * as z from 'zod/mini'
import type { RelayDeps } from '../relay/deps.ts'
import { scanRequests } from './scan-requests.ts'

/** Dead letters of one source that died with the same error code. */
export interface DeadLetterGroup {
  source: string
  /** The last error's code; "none" when the error had no code. */
  code: string
  count: number
  /** When the oldest and the newest of them died (updatedAt). */
  firstSeen: string
  lastSeen: string
  /** The newest one's error message, as an example. */
  message?: string
}

export interface DeadLetterGroupsResponse {
  total: number
  /** Largest first. */
  groups: DeadLetterGroup[]
  /** The scan stopped at its cap: counts are lower bounds. */
  truncated: boolean
}

export const deadLetterGroupsQuerySchema = z.strictObject({
  source: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
})

/** The code a dead letter is grouped under when its error carried none. */
export const NO_ERROR_CODE = 'none'

/** GET /admin/v1/dead-letters: every dead letter, grouped by source and last error code. */
export async function groupDeadLetters(deps: Pick<RelayDeps, 'ledger'>, source?: string): Promise<DeadLetterGroupsResponse> {
  const scan = await scanRequests(deps, { state: 'dead', ...(source === undefined ? {} : { source }) })
  const groups = new Map<string, DeadLetterGroup>()
  // Newest first: the first one seen of a group is its newest.
  for (const request of scan.requests) {
    const code = request.lastError?.code ?? NO_ERROR_CODE
    const key = JSON.stringify([request.source, code])
    const group = groups.get(key)
    if (group) {
      group.count += 1
      if (request.updatedAt < group.firstSeen) group.firstSeen = request.updatedAt
      if (request.updatedAt > group.lastSeen) group.lastSeen = request.updatedAt
    } else {
      groups.set(key, { source: request.source, code, count: 1, firstSeen: request.updatedAt, lastSeen: request.updatedAt, ...(request.lastError ? { message: request.lastError.message } : {}) })
    }
  }
  const sorted = [...groups.values()].sort((a, b) => b.count - a.count || b.lastSeen.localeCompare(a.lastSeen))
  return { total: scan.requests.length, groups: sorted, truncated: scan.truncated }
}

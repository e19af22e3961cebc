import type { RequestQuery } from '../ports/ledger.ts'
import type { RelayDeps } from '../relay/deps.ts'
import type { RelayRequest } from '../relay/types.ts'

const SCAN_PAGE_SIZE = 1000
/** The dashboard's scans read at most this many requests; beyond it their figures are lower bounds. */
export const DASHBOARD_SCAN_CAP = 20_000

export interface RequestScan {
  requests: RelayRequest[]
  /** The scan stopped at its cap: more requests matched. */
  truncated: boolean
}

/** Reads every request matching `filter` (newest first), page by page, up to `cap`. */
export async function scanRequests(deps: Pick<RelayDeps, 'ledger'>, filter: Omit<RequestQuery, 'limit' | 'cursor'>, cap = DASHBOARD_SCAN_CAP): Promise<RequestScan> {
  const requests: RelayRequest[] = []
  let cursor: string | undefined
  do {
    const page = await deps.ledger.listRequests({ ...filter, limit: Math.min(SCAN_PAGE_SIZE, cap - requests.length), ...(cursor ? { cursor } : {}) })
    requests.push(...page.items)
    cursor = page.cursor
  } while (cursor && requests.length < cap)
  return { requests, truncated: cursor !== undefined }
}

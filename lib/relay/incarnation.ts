import type { Ledger } from '../ports/ledger.ts'
import type { RelayDeps } from './deps.ts'
import { sendWorkMessages } from './work-messages.ts'
import { decideTakeOver } from './record-machine.ts'

/** Per ledger: the newest incarnation seen per agent id, so the takeover runs once per restart and runtime. */
const seenIncarnations = new WeakMap<Ledger, Map<string, string>>()
const LEASED_PAGE_SIZE = 1000

/** The start time an incarnation begins with; a lease without one (an older agent) counts as earliest. */
function startedAt(incarnation: string | undefined): number {
  return incarnation === undefined ? 0 : Number(incarnation.slice(0, incarnation.indexOf('-')))
}

/**
 * A restarted agent's first pull: takes back the leases its earlier processes still hold, so their
 * work is redelivered now instead of after the lease (each is requeued and sent a new wake-up;
 * duplicate messages are harmless, the ledger fences). Returns how many were taken back.
 */
export async function takeOverEarlierIncarnations(deps: RelayDeps, agentId: string, incarnation: string | undefined): Promise<number> {
  if (incarnation === undefined) return 0
  let seen = seenIncarnations.get(deps.ledger)
  if (!seen) seenIncarnations.set(deps.ledger, (seen = new Map()))
  const known = seen.get(agentId)
  if (known !== undefined && startedAt(known) >= startedAt(incarnation)) return 0
  let taken = 0
  let cursor: string | undefined
  do {
    const page = await deps.ledger.listRequests({ state: 'leased', limit: LEASED_PAGE_SIZE, ...(cursor ? { cursor } : {}) })
    for (const request of page.items) {
      const lease = request.lease
      if (!lease || lease.agentId !== agentId || startedAt(lease.incarnation) >= startedAt(incarnation)) continue
      const result = await deps.ledger.mutateRecord(request.recordKey, [request.id], (snapshot) => decideTakeOver(snapshot, { requestId: request.id, leaseId: lease.id, now: deps.now() }))
      if (result.status !== 'requeued') continue
      taken += 1
      // Unsent, it is re-sent by the repair sweep (a requeued request without sentAt).
      await sendWorkMessages(deps, [{ requestId: request.id, recordKey: request.recordKey }]).catch((error: unknown) => deps.log.warn('could not send the wake-up for a taken-back lease; the repair sweep will', { requestId: request.id, error: String(error) }))
    }
    cursor = page.cursor
  } while (cursor)
  seen.set(agentId, incarnation)
  if (taken > 0) deps.log.info('a restarted agent took back the leases of its previous process', { agentId, taken })
  return taken
}

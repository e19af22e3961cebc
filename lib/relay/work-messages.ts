/**
 * Sending work messages and guarding storage calls, shared by ingest, the agent API, repair and the
 * admin API. Apart from ingest.ts, so the functions that only send work do not bundle the webhook
 * path (body parsing with its XML parser, signature schemes, handshakes).
 */
import { StorageUnavailableError, isHookferryError } from '../errors.ts'
import type { RelayDeps } from './deps.ts'
import { encodeWorkMessage } from './queue-message.ts'
import type { EventResult } from './record-machine.ts'

type WorkItem = Pick<EventResult & { recordKey: string }, 'requestId' | 'recordKey'>

/** Sends one queue message per request that needs one, then marks them sent (best effort). */
export async function sendWorkMessages(deps: RelayDeps, items: WorkItem[]): Promise<void> {
  await enqueueWork(deps, items)
  await markWorkSent(deps, items)
}

/** Durably enqueues one queue message per request, or throws StorageUnavailableError. */
export async function enqueueWork(deps: RelayDeps, items: WorkItem[]): Promise<void> {
  if (items.length === 0) return
  await guardStorage(() => deps.queue.send(items.map((item) => ({ body: encodeWorkMessage(item) }))))
}

/** Marks enqueued requests as sent; never throws. */
export async function markWorkSent(deps: RelayDeps, items: WorkItem[]): Promise<void> {
  await Promise.all(
    items.map((item) =>
      deps.ledger.markSent(item.requestId, deps.now().toISOString()).catch((error: unknown) => {
        // Not fatal: the repair sweep re-sends unmarked requests and duplicate messages are harmless.
        deps.log.warn('could not mark request as sent', { requestId: item.requestId, error: String(error) })
      }),
    ),
  )
}

/** Storage failures become 503 + Retry-After so the provider retries (never a generic 500). */
export async function guardStorage<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (isHookferryError(error) && error.statusCode !== 500) throw error
    throw new StorageUnavailableError('could not durably record the webhook; retry later', { cause: error })
  }
}


import { recordKeyOf } from '../../relay/types.ts'
import type { RunError } from '../../relay/sync-types.ts'
import type { ListedRecord } from '../connectors/list/list-connector.ts'
import { contentHash } from '../content-hash.ts'
import { isAgentError } from '../errors.ts'
import { idempotencyKey } from '../idempotency.ts'
import type { Delivery } from '../sinks/sink.ts'
import type { RunContext } from './run-sync.ts'

const MAX_ERROR_MESSAGE_CHARS = 1000

/** A listed record made ready for the sink, or skipped (no delivery): what its chunk commits. */
export interface Prepared {
  listed: ListedRecord
  recordKey: string
  delivery?: Delivery
  /** Content hash, remembered by the loop guard once delivered. */
  hash?: string
  skipped?: 'unchanged' | 'filtered' | 'own change'
}
export interface Rejected {
  error: RunError
  prepared?: Prepared
}

/**
 * The real-time pipeline's steps for one listed record, in the same order: origin filter (our own
 * change coming back), version, transform, loop guard. A permanent failure of one record rejects
 * that record only; anything else is thrown (the page is tried again later).
 */
export async function prepareRecord(run: RunContext, listed: ListedRecord): Promise<Prepared | { reject: Rejected }> {
  const { source, grant, lease, deps } = run
  const recordType = run.sync.recordType
  const recordKey = recordKeyOf(lease.source, listed.id, recordType)
  const identity = { requestId: grant.runId, source: lease.source, recordId: listed.id, ...(recordType === undefined ? {} : { recordType }) }
  if (listed.op === 'delete') return { listed, recordKey, delivery: { ...identity, op: 'delete', idempotencyKey: idempotencyKey(identity), runId: grant.runId } }
  try {
    if (source.originFilter && (await source.originFilter(listed.record)) === false) return { listed, recordKey, skipped: 'own change' }
    const version = source.version ? await source.version(listed.record) : listed.cursor === '' ? undefined : listed.cursor
    const versionText = version === undefined || version === null ? undefined : typeof version === 'string' ? version : JSON.stringify(version)
    const delivered = source.transform ? await source.transform(listed.record, { ...identity, attempt: lease.attempt }) : listed.record
    if (delivered === undefined) return { listed, recordKey, skipped: 'filtered' }
    const { enabled, ignoreFields } = source.loopPrevention
    const hash = enabled ? contentHash(delivered, ignoreFields) : undefined
    if (hash !== undefined && run.skipUnchanged && deps.loopGuard.isUnchanged(source.loopScope, recordKey, hash)) return { listed, recordKey, skipped: 'unchanged' }
    const keyed = { ...identity, ...(versionText === undefined ? {} : { version: versionText }) }
    const delivery: Delivery = { ...keyed, op: 'upsert', idempotencyKey: idempotencyKey(keyed), record: delivered, runId: grant.runId }
    return { listed, recordKey, delivery, ...(hash === undefined ? {} : { hash }) }
  } catch (error) {
    if (isAgentError(error) && !error.retryable) return { reject: { error: runError(listed.id, error, deps.now()) } }
    throw error
  }
}

/** A record's failure as the run's error list keeps it. */
export function runError(key: string, error: { code?: string; message: string }, now: number): RunError {
  return { key, ...(error.code === undefined ? {} : { code: error.code }), message: error.message.slice(0, MAX_ERROR_MESSAGE_CHARS), at: new Date(now).toISOString() }
}

import { RateLimiter } from '../connectors/list/rate-limit.ts'
import { isAgentError, retryableError } from '../errors.ts'
import { deliverChunk } from './deliver-chunk.ts'
import { runError, type Prepared, type Rejected } from './prepare-record.ts'
import { withRetries } from './retry.ts'
import type { RunContext } from './run-sync.ts'

/** Write-backs of one chunk in flight at once. */
const WRITE_BACK_CONCURRENCY = 8

/**
 * Delivers a chunk's deliveries as one batch, then for each committed record: counts, write-back,
 * loop-guard hash (remembered only after delivery and write-back, as on the real-time path).
 * Returns the records the sink (or the write-back) kept refusing.
 */
export async function commitChunk(run: RunContext, chunk: readonly Prepared[]): Promise<Rejected[]> {
  const { source, progress, deps, signal } = run
  const { counts } = progress
  const toDeliver = chunk.filter((prepared) => prepared.delivery !== undefined)
  counts.unchanged += chunk.length - toDeliver.length
  if (toDeliver.length === 0) return []
  const retry = { attempts: run.sync.config.attempts, signal, ...(deps.retryBaseDelaySeconds === undefined ? {} : { baseDelaySeconds: deps.retryBaseDelaySeconds }) }
  const outcomes = await deliverChunk(source.sink, toDeliver.map((prepared) => prepared.delivery!), { ...retry, sliceSize: run.sync.sliceSize })
  const rejects: Rejected[] = []
  const remembered: { recordKey: string; contentHash: string }[] = []
  const limiter = new RateLimiter({ concurrency: WRITE_BACK_CONCURRENCY })
  await Promise.all(
    toDeliver.map(async (prepared, index) => {
      const outcome = outcomes[index]!
      const delivery = prepared.delivery!
      if (!outcome.ok) return void rejects.push({ error: runError(prepared.listed.id, outcome.error, deps.now()), prepared })
      if (outcome.stale) return void (counts.stale += 1)
      counts.written += 1
      keepChangedKey(run, prepared.listed.id)
      if (delivery.op === 'delete') return deps.loopGuard.forget(source.loopScope, prepared.recordKey)
      if (source.writeBack) {
        const request = { requestId: delivery.requestId, source: delivery.source, recordId: delivery.recordId, ...(delivery.recordType === undefined ? {} : { recordType: delivery.recordType }), attempt: run.lease.attempt }
        const input = { record: prepared.listed.record, delivered: delivery.record, request, response: outcome.response, localKey: outcome.localKey }
        try {
          await withRetries(() => limiter.run(() => source.writeBack!(input, signal), signal), retry)
        } catch (error) {
          const failure = isAgentError(error) ? error : retryableError('agent.write_back_failed', (error as Error)?.message ?? String(error))
          return void rejects.push({ error: runError(prepared.listed.id, failure, deps.now()), prepared })
        }
      }
      if (prepared.hash !== undefined) remembered.push({ recordKey: prepared.recordKey, contentHash: prepared.hash })
    }),
  )
  deps.loopGuard.rememberAll(source.loopScope, remembered)
  return rejects
}

function keepChangedKey(run: RunContext, key: string): void {
  if (run.changedKeys === null) return
  if (run.changedKeys.length >= run.sync.config.maxChangedKeys) run.changedKeys = null
  else run.changedKeys.push(key)
}

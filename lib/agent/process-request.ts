import type { Logger } from 'pino'
import { MAX_LEASE_IN_SECONDS, type LeaseGrant, type SyncProgress } from '../relay/agent-api.ts'
import type { ErrorSummary, SyncReply } from '../relay/types.ts'
import { recordKeyOf } from '../relay/types.ts'
import { through, type Breakers, type FarSides } from './breakers.ts'
import { contentHash } from './content-hash.ts'
import { isAgentError, retryableError, type AgentError } from './errors.ts'
import { idempotencyKey } from './idempotency.ts'
import type { LoopGuard } from './loop-guard.ts'
import type { SinkResponse } from './sinks/sink.ts'
import type { SourceRuntime } from './source-runtime.ts'
import type { TransformContext } from './transform.ts'

/** A request of a source this agent does not know waits this long: maybe another agent (or a fixed config) knows it. */
export const UNKNOWN_SOURCE_RETRY_IN_SECONDS = 300
const MAX_REPLY_BODY_CHARS = 256 * 1024
const MAX_ERROR_MESSAGE_CHARS = 1000

/** An outage without a Retry-After: the request comes back after this long (and then finds the breaker's verdict). */
export const OUTAGE_RETRY_IN_SECONDS = 5

/** The ack for one lease (the Agent API's AckItem without the lease token). */
export type RequestOutcome =
  | { outcome: 'done'; note?: string; reply?: SyncReply; sync?: SyncProgress }
  | { outcome: 'retry'; delaySeconds?: number; error: ErrorSummary }
  | { outcome: 'fail'; error: ErrorSummary }
  /** Held back by an outage of the far side: handed back to wait, without spending an attempt. */
  | { outcome: 'release'; delaySeconds?: number; error?: ErrorSummary }

export interface ProcessDeps {
  sources: ReadonlyMap<string, SourceRuntime>
  loopGuard: LoopGuard
  log: Logger
  now: () => number
  /** Circuit breakers per SaaS API and per destination; without them every request goes through. */
  breakers?: Breakers
}

export interface ProcessResult {
  outcome: RequestOutcome
  /** Set when the sink accepted the delivery: when (epoch ms), for the end-to-end latency. */
  deliveredAt?: number
}

/**
 * Works on one leased request: fetch → transform → loop guard → deliver → write-back. Never
 * throws: every failure becomes `retry` (transient, with the far side's Retry-After when known;
 * otherwise the cloud's backoff with full jitter applies) or `fail` (retrying cannot help).
 */
export async function processRequest(lease: LeaseGrant, deps: ProcessDeps, signal?: AbortSignal): Promise<ProcessResult> {
  const source = deps.sources.get(lease.source)
  if (!source) {
    deps.log.error({ requestId: lease.requestId, source: lease.source }, `no config for source "${lease.source}" in this agent: the request waits ${UNKNOWN_SOURCE_RETRY_IN_SECONDS} s (add the source to the agent config)`)
    return {
      outcome: {
        outcome: 'retry',
        delaySeconds: UNKNOWN_SOURCE_RETRY_IN_SECONDS,
        error: { code: 'agent.unknown_source', message: `the agent has no config for source "${lease.source}"` },
      },
    }
  }
  const passage = deps.breakers ? await deps.breakers.passage(source.name, source.loopScope.destination, signal) : { far: {}, leave: () => {} }
  if ('refused' in passage) return { outcome: { outcome: 'release', ...passage.refused } }
  try {
    return await runPipeline(lease, source, deps, passage.far, signal)
  } catch (error) {
    const failure = isAgentError(error) ? error : retryableError('agent.internal', `unexpected error: ${(error as Error)?.message ?? String(error)}`, { cause: error })
    return { outcome: outcomeOf(failure, deps.breakers?.overflowDelaySeconds) }
  } finally {
    passage.leave()
  }
}

async function runPipeline(lease: LeaseGrant, source: SourceRuntime, deps: ProcessDeps, far: FarSides, signal?: AbortSignal): Promise<ProcessResult> {
  const fetched = await through(far.api, () => source.connector.fetch(lease, signal), signal)
  const recordKey = recordKeyOf(lease.source, lease.recordId, lease.recordType)
  const request = contextOf(lease)
  const { attempt: _attempt, ...identity } = request

  if (fetched.op === 'delete') {
    // Deletes always go through: the guard only compares contents.
    await through(far.sink, () => source.sink.deliver({ ...identity, op: 'delete', idempotencyKey: idempotencyKey(identity) }, signal), signal)
    const deliveredAt = deps.now()
    deps.loopGuard.forget(source.loopScope, recordKey)
    return { outcome: { outcome: 'done', note: 'deleted' }, deliveredAt }
  }

  // Two-way sync: our own change coming back (sources.<name>.originFilter) is not delivered again.
  if (source.originFilter && (await source.originFilter(fetched.record)) === false) return { outcome: { outcome: 'done', note: 'own change' } }
  const version = source.version ? await source.version(fetched.record) : undefined
  const versionText = version === undefined || version === null ? undefined : typeof version === 'string' ? version : JSON.stringify(version)
  const delivered = source.transform ? await source.transform(fetched.record, request) : fetched.record
  if (delivered === undefined) return { outcome: { outcome: 'done', note: 'filtered' } }

  const { enabled, ignoreFields } = source.loopPrevention
  const hash = enabled ? contentHash(delivered, ignoreFields) : undefined
  if (hash !== undefined && deps.loopGuard.isUnchanged(source.loopScope, recordKey, hash)) {
    return { outcome: { outcome: 'done', note: 'unchanged' } }
  }

  const keyed = { ...identity, ...(versionText === undefined ? {} : { version: versionText }) }
  const result = await through(far.sink, () => source.sink.deliver({ ...keyed, op: 'upsert', idempotencyKey: idempotencyKey(keyed), record: delivered }, signal), signal)
  const deliveredAt = deps.now()
  // The destination holds an equal or newer version (invariant 9): nothing changed, nothing to write back.
  if (result.stale) return { outcome: { outcome: 'done', note: 'stale' }, deliveredAt }
  const writeBack = source.writeBack
  if (writeBack) await through(far.api, () => writeBack({ record: fetched.record, delivered, request, response: result.response, localKey: result.localKey }, signal), signal)
  // Remembered only once delivery and write-back both succeeded: if the write-back fails, the
  // retry delivers again (same idempotency key, so harmless) and then writes back.
  if (hash !== undefined) deps.loopGuard.remember(source.loopScope, recordKey, hash)
  const reply = lease.mode === 'sync' && result.response ? replyOf(result.response) : undefined
  return { outcome: { outcome: 'done', ...(reply ? { reply } : {}) }, deliveredAt }
}

/** What transforms and write-backs see as `request` (also the identity of the delivery). */
function contextOf(lease: LeaseGrant): TransformContext {
  return {
    requestId: lease.requestId,
    source: lease.source,
    recordId: lease.recordId,
    ...(lease.recordType === undefined ? {} : { recordType: lease.recordType }),
    ...(lease.event === undefined ? {} : { event: lease.event }),
    attempt: lease.attempt,
  }
}

/** The ack for a failure: `fail` when retrying cannot help, else `retry` (after the far side's Retry-After when known). */
export function outcomeOf(error: AgentError, outageDelaySeconds = OUTAGE_RETRY_IN_SECONDS): RequestOutcome {
  const summary = { code: error.code, message: error.message.slice(0, MAX_ERROR_MESSAGE_CHARS) }
  if (!error.retryable) return { outcome: 'fail', error: summary }
  // The far side is down, not the record at fault: it waits without spending an attempt (until
  // the far side's Retry-After, else one probe interval, so it is back soon after the far side).
  if (error.outage) return { outcome: 'release', error: summary, delaySeconds: Math.min(error.retryAfterSeconds ?? outageDelaySeconds, MAX_LEASE_IN_SECONDS) }
  if (error.retryAfterSeconds === undefined) return { outcome: 'retry', error: summary }
  return { outcome: 'retry', error: summary, delaySeconds: Math.min(error.retryAfterSeconds, MAX_LEASE_IN_SECONDS) }
}

/** The sink's answer as the reply of a sync source (text body, string headers). */
function replyOf(response: SinkResponse): SyncReply {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers[name.toLowerCase()] = value
  let body = ''
  if (typeof response.body === 'string') body = response.body
  else if (response.body !== undefined) {
    body = JSON.stringify(response.body)
    headers['content-type'] ??= 'application/json'
  }
  if (body.length > MAX_REPLY_BODY_CHARS) body = body.slice(0, MAX_REPLY_BODY_CHARS)
  return { status: response.status >= 100 && response.status <= 599 ? response.status : 502, headers, body }
}

import type { Logger } from 'pino'
import type { LeaseGrant, SyncGrant } from '../../relay/agent-api.ts'
import type { RunError, Watermark } from '../../relay/sync-types.ts'
import type { ListConnector, ListedRecord } from '../connectors/list/list-connector.ts'
import { compareCursors, compareKeys } from '../connectors/list/list-connector.ts'
import { isAgentError, retryableError } from '../errors.ts'
import type { LoopGuard } from '../loop-guard.ts'
import { outcomeOf, UNKNOWN_SOURCE_RETRY_IN_SECONDS, type ProcessResult, type RequestOutcome } from '../process-request.ts'
import type { SourceRuntime } from '../source-runtime.ts'
import { prepareRecord, type Prepared } from './prepare-record.ts'
import { commitChunk } from './commit-chunk.ts'
import { withRetries } from './retry.ts'
import { RunProgress, type CheckpointCall } from './run-progress.ts'
import type { SyncRuntime } from './sync-source.ts'

const MAX_ERROR_MESSAGE_CHARS = 1000

export interface SyncDeps {
  sources: ReadonlyMap<string, SourceRuntime>
  loopGuard: LoopGuard
  checkpoint: CheckpointCall
  log: Logger
  now: () => number
  /** Backoff base for in-run retries (tests shorten it). */
  retryBaseDelaySeconds?: number
}

/** What a run knows while it works. */
export interface RunContext {
  lease: LeaseGrant
  grant: SyncGrant
  source: SourceRuntime
  sync: SyncRuntime
  deps: SyncDeps
  progress: RunProgress
  signal: AbortSignal
  /** A full run whose deletes are on delivers unchanged records too: the sink stamps every row it saw. */
  skipUnchanged: boolean
  changedKeys: string[] | null
  /** `order: cursor` only: the last committed record, and the last one whose cursor value is complete. */
  ties?: { last?: Watermark; complete?: Watermark }
}

/** The run ends here: the cloud said the run is no longer ours, or the reject limit was passed. */
class RunStopped extends Error {
  readonly outcome: RequestOutcome
  constructor(outcome: RequestOutcome) {
    super('run stopped')
    this.outcome = outcome
  }
}

/**
 * Works on one leased sync run: list a page → origin filter, transform, loop guard → chunks
 * through the sink's batch path → checkpoint (only once the chunk is committed) → next page;
 * then, for a complete error-free full run, deletes; then `afterRun`; then ack `done` with the
 * summary. Transient failures are retried in the run; what outlasts that acks `retry` and a
 * later attempt resumes from the last checkpoint. Never throws (like processRequest).
 */
export async function runSync(lease: LeaseGrant, deps: SyncDeps, signal: AbortSignal = new AbortController().signal): Promise<ProcessResult> {
  const grant = lease.sync!
  const source = deps.sources.get(lease.source)
  if (!source?.sync) {
    const reason = source ? `source "${lease.source}" has no list in this agent's config` : `the agent has no config for source "${lease.source}"`
    deps.log.error({ requestId: lease.requestId, source: lease.source, job: grant.job }, `sync run ${grant.runId}: ${reason}: it waits ${UNKNOWN_SOURCE_RETRY_IN_SECONDS} s (add a list to the source)`)
    return { outcome: { outcome: 'retry', delaySeconds: UNKNOWN_SOURCE_RETRY_IN_SECONDS, error: { code: source ? 'agent.no_list' : 'agent.unknown_source', message: reason } } }
  }
  const { list, config } = source.sync
  const resend = grant.ids !== undefined
  const ordered = list.order !== 'none' && !resend
  const progress = new RunProgress({
    lease: lease.lease,
    call: deps.checkpoint,
    counts: grant.counts,
    after: resend ? undefined : grant.after,
    everyMs: config.checkpointEveryMs,
    promote: ordered,
    sendPositions: ordered,
  })
  const run: RunContext = {
    lease,
    grant,
    source,
    sync: source.sync,
    deps,
    progress,
    signal,
    skipUnchanged: !(grant.mode === 'full' && config.deletes),
    // Keys of an earlier attempt of this run are not known here.
    changedKeys: grant.counts.read === 0 ? [] : null,
    ...(list.order === 'cursor' ? { ties: {} } : {}),
  }
  const startedAt = deps.now()
  const fields = { requestId: lease.requestId, source: lease.source, job: grant.job, runId: grant.runId, mode: grant.mode }
  deps.log.info({ ...fields, after: grant.after, until: grant.until, ...(resend ? { ids: grant.ids!.length } : {}) }, 'sync run started')
  try {
    const last = await readAndDeliver(run, list)
    // Complete: everything read is committed, so the run ends at the last record it read.
    const summaryPosition = resend ? undefined : last
    if (grant.mode === 'full' && config.deletes && !resend && progress.counts.rejected === 0) {
      const deleted = await withRetries(() => source.sink.deleteNotSeenInRun!(grant.runId, signal), { attempts: config.attempts, signal, ...retryBase(deps) })
      progress.counts.deleted += deleted
      progress.committed(undefined)
      deps.log.info({ ...fields, deleted }, 'sync run: deleted what the full run did not see')
    }
    await flushOrStop(run, true)
    if (source.sync.afterRun) await runAfterRun(run, startedAt, summaryPosition)
    deps.log.info({ ...fields, counts: progress.counts, checkpoint: summaryPosition ?? progress.checkpoint, durationMs: deps.now() - startedAt }, 'sync run finished')
    return { outcome: { outcome: 'done', note: `${progress.counts.read} read, ${progress.counts.written} written`, sync: progress.summary(summaryPosition) }, deliveredAt: deps.now() }
  } catch (error) {
    if (error instanceof RunStopped) return { outcome: error.outcome }
    const failure = isAgentError(error) ? error : retryableError('agent.internal', `unexpected error: ${(error as Error)?.message ?? String(error)}`, { cause: error })
    // What was committed before the failure is kept: the next attempt resumes from it.
    if (!signal.aborted) await progress.flush(true, deps.now(), signal).catch(() => undefined)
    deps.log.warn({ ...fields, counts: progress.counts, checkpoint: progress.checkpoint, error: failure.message }, 'sync run interrupted')
    return { outcome: outcomeOf(failure) }
  }
}

/** Lists, prepares and commits every page; returns the greatest position seen (unordered sources promote it at the end). */
async function readAndDeliver(run: RunContext, list: ListConnector): Promise<Watermark | undefined> {
  const { grant, progress, sync } = run
  const cursorType = sync.list.cursorType
  const ordered = sync.list.order !== 'none'
  let greatest: Watermark | undefined
  let pending: Prepared[] = []
  let deliveries = 0
  // One chunk commits while the next is prepared (the sink's I/O overlaps the agent's CPU work);
  // chunks still commit, and checkpoint, strictly in order.
  let committing: Promise<void> = Promise.resolve()
  const commitInOrder = async (chunk: Prepared[]) => {
    const previous = committing
    committing = previous.then(() => commit(run, chunk))
    committing.catch(() => undefined)
    await previous
  }
  const query = { ...(grant.after && grant.ids === undefined ? { after: grant.after } : {}), ...(grant.until ? { until: grant.until } : {}), ...(grant.ids ? { ids: grant.ids } : {}), source: run.lease.source, job: grant.job, runId: grant.runId }
  let finished = false
  try {
    for await (const page of readAhead(list.pages(query, run.signal))) {
      progress.counts.pages += 1
      for (const record of page) {
        // Ordered lists end at their greatest position; only an unordered one needs comparing.
        if (!greatest || ordered || isGreater(record, greatest, cursorType)) greatest = { cursor: record.cursor, key: record.id }
        const prepared = await prepareRecord(run, record)
        if ('reject' in prepared) {
          progress.counts.read += 1
          await reject(run, [prepared.reject])
          continue
        }
        pending.push(prepared)
        if (prepared.delivery) deliveries += 1
        if (deliveries >= sync.config.chunkSize) {
          await commitInOrder(pending)
          pending = []
          deliveries = 0
        }
      }
      // Pages of skipped records still move the checkpoint.
      if (pending.length > 0 && deliveries === 0) {
        await commitInOrder(pending)
        pending = []
      }
    }
    if (pending.length > 0) await commitInOrder(pending)
    finished = true
  } finally {
    // Never leave a chunk writing after the run has ended (its ack may already be on the way).
    if (!finished) await committing.catch(() => undefined)
  }
  await committing
  return greatest
}

async function commit(run: RunContext, chunk: Prepared[]): Promise<void> {
  const rejects = await commitChunk(run, chunk)
  // Counted as read once committed, so a resumed run's counts do not repeat what it reads again.
  run.progress.counts.read += chunk.length
  run.progress.committed(run.grant.ids === undefined ? checkpointAfter(run, chunk) : undefined)
  if (rejects.length > 0) await reject(run, rejects)
  await flushOrStop(run, false)
}

/**
 * Where a resumed run may start once `chunk` is committed. In (cursor, key) order: its last
 * record. In cursor order (ties in any order) only a cursor value whose records are all committed
 * is safe: an API read `updated_after={since}` (exclusive) would otherwise skip the rest of a tie
 * group; read inclusively, the group is read again and the loop guard skips what is unchanged.
 */
function checkpointAfter(run: RunContext, chunk: Prepared[]): Watermark | undefined {
  const last = chunk.at(-1)!.listed
  if (!run.ties) return { cursor: last.cursor, key: last.id }
  const cursorType = run.sync.list.cursorType
  for (const { listed } of chunk) {
    const previous = run.ties.last
    if (previous && compareCursors(listed.cursor, previous.cursor, cursorType) !== 0) run.ties.complete = previous
    run.ties.last = { cursor: listed.cursor, key: listed.id }
  }
  return run.ties.complete
}

/** Records rejects in the run's errors (and the sink's reject table); past the limit the run fails. */
async function reject(run: RunContext, rejects: { error: RunError; prepared?: Prepared }[]): Promise<void> {
  const { progress, source, sync } = run
  for (const { error } of rejects) progress.reject(error)
  progress.counts.rejected += rejects.length
  const table = source.sink.rejects
  const rows = rejects.flatMap(({ error, prepared }) => (prepared?.delivery ? [{ delivery: prepared.delivery, error: { code: error.code ?? 'agent.rejected', message: error.message }, at: error.at }] : []))
  if (table && rows.length > 0) await withRetries(() => table.record(rows, run.signal), { attempts: sync.config.attempts, signal: run.signal, ...retryBase(run.deps) })
  if (progress.counts.rejected > sync.config.rejectLimit) {
    await flushOrStop(run, true)
    const message = `${progress.counts.rejected} records rejected, more than sync.rejectLimit (${sync.config.rejectLimit}): the run stops (see its errors)`
    run.deps.log.error({ requestId: run.lease.requestId, source: run.lease.source, job: run.grant.job, runId: run.grant.runId, counts: progress.counts }, message)
    throw new RunStopped({ outcome: 'fail', error: { code: 'agent.sync_reject_limit', message } })
  }
}

async function flushOrStop(run: RunContext, force: boolean): Promise<void> {
  const status = await run.progress.flush(force, run.deps.now(), run.signal)
  if (status === 'ok') return
  run.deps.log.warn({ requestId: run.lease.requestId, job: run.grant.job, runId: run.grant.runId, status }, 'sync run: the cloud says the run is no longer ours (cancelled, or the lease expired): stopping')
  throw new RunStopped({ outcome: 'retry', error: { code: 'agent.lease_lost', message: `checkpoint answered ${status}` } })
}

async function runAfterRun(run: RunContext, startedAt: number, position: Watermark | undefined): Promise<void> {
  const { grant, progress, deps } = run
  const checkpoint = position ?? progress.checkpoint
  const summary = {
    runId: grant.runId,
    source: run.lease.source,
    job: grant.job,
    mode: grant.mode,
    counts: { ...progress.counts },
    ...(checkpoint ? { checkpoint } : {}),
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(deps.now()).toISOString(),
    changedKeys: run.changedKeys,
    changedKeysComplete: run.changedKeys !== null,
  }
  try {
    await withRetries(() => run.sync.afterRun!(summary, run.signal), { attempts: run.sync.config.attempts, signal: run.signal, ...retryBase(deps) })
  } catch (error) {
    const message = `afterRun failed: ${(error as Error)?.message ?? String(error)}`
    throw new RunStopped({ outcome: 'fail', error: { code: isAgentError(error) ? error.code : 'agent.after_run_failed', message: message.slice(0, MAX_ERROR_MESSAGE_CHARS) } })
  }
}

/** Reads the next page while this one is delivered: one page ahead, no more (bounded memory). */
async function* readAhead<T>(pages: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = pages[Symbol.asyncIterator]()
  let next = iterator.next()
  try {
    for (;;) {
      const current = await next
      if (current.done) return
      next = iterator.next()
      // A failed read ahead surfaces when its page is wanted, not as an unhandled rejection.
      next.catch(() => undefined)
      yield current.value
    }
  } finally {
    await iterator.return?.()
  }
}

function isGreater(record: ListedRecord, than: Watermark, cursorType: ListConnector['cursorType']): boolean {
  const byCursor = compareCursors(record.cursor, than.cursor, cursorType)
  return byCursor > 0 || (byCursor === 0 && compareKeys(record.id, than.key) > 0)
}

function retryBase(deps: SyncDeps): { baseDelaySeconds?: number } {
  return deps.retryBaseDelaySeconds === undefined ? {} : { baseDelaySeconds: deps.retryBaseDelaySeconds }
}


import { HookferryError } from '../errors.ts'
import type { RelayDeps } from '../relay/deps.ts'
import { sendWorkMessages } from '../relay/work-messages.ts'
import { decideCancel, decideReset, runRequestSpec } from '../relay/sync/run-decisions.ts'
import { isSyncRun } from '../relay/sync/run-state.ts'
import { nextSlot } from '../relay/sync/schedule.ts'
import { findJob, jobsOf, triggerRun, type JobRef } from '../relay/sync/sync-service.ts'
import type { RelayRequest } from '../relay/types.ts'
import { ADMIN_ACTOR } from './replay.ts'
import { detailOfRun, summarizeRun } from './run-views.ts'
import type { CancelRunResponse, ListRunsQuery, ResetSyncBody, ResetSyncResponse, RunDetailResponse, RunPageResponse, StartSyncBody, StartSyncResponse, SyncJobView, SyncsResponse } from './sync-api.ts'
import { watermarkLag } from './sync-lag.ts'

const jobNotFound = (source: string, job: string) =>
  new HookferryError('sync.job_not_found', `no sync job "${job}" in source "${source}" (jobs are declared under sources.${source}.jobs in the server config)`, { statusCode: 404 })
const runNotFound = (id: string) => new HookferryError('run.not_found', `no sync run with id "${id}" (unknown, expired from the ledger, or not a sync run)`, { statusCode: 404 })

function requireJob(deps: Pick<RelayDeps, 'config'>, source: string, job: string): JobRef {
  const ref = findJob(deps.config, source, job)
  if (!ref) throw jobNotFound(source, job)
  return ref
}

async function requireRun(deps: Pick<RelayDeps, 'ledger'>, id: string): Promise<RelayRequest> {
  const request = await deps.ledger.getRequest(id)
  if (!request || !isSyncRun(request)) throw runNotFound(id)
  return request
}

/** One job as `hookferry syncs` shows it. */
async function viewOfJob(deps: Pick<RelayDeps, 'ledger'>, ref: JobRef, now: Date): Promise<SyncJobView> {
  const record = await deps.ledger.getRecord(ref.recordKey)
  const job = record?.job
  const current = record?.requestId && record.state !== 'idle' ? await deps.ledger.getRequest(record.requestId) : undefined
  const lag = watermarkLag(ref.config, job, now)
  const next = nextSlot(ref.config, now)
  return {
    source: ref.source,
    job: ref.job,
    schedule: ref.config.schedule,
    timezone: ref.config.timezone,
    mode: ref.config.mode,
    ...(ref.config.fullEvery === undefined ? {} : { fullEvery: ref.config.fullEvery }),
    lagSeconds: ref.config.lagSeconds,
    ...(next ? { nextRunAt: next.toISOString() } : {}),
    ...(job?.lastScheduledAt ? { lastScheduledAt: job.lastScheduledAt } : {}),
    ...(job?.watermark ? { watermark: job.watermark } : {}),
    ...(job?.watermarkAt ? { watermarkAt: job.watermarkAt } : {}),
    ...(lag.lagSeconds === undefined ? {} : { watermarkAgeSeconds: lag.lagSeconds }),
    stalled: lag.stalled,
    ...(job?.lastRun ? { lastRun: job.lastRun } : {}),
    ...(current && (current.state === 'queued' || current.state === 'leased') ? { running: summarizeRun(current, now) } : {}),
  }
}

/** GET /admin/v1/syncs: every configured job with its schedule, watermark, last run and the run now. */
export async function describeSyncs(deps: Pick<RelayDeps, 'ledger' | 'config' | 'now'>): Promise<SyncsResponse> {
  const now = deps.now()
  return { serverTime: now.toISOString(), jobs: await Promise.all(jobsOf(deps.config).map((ref) => viewOfJob(deps, ref, now))) }
}

/** GET /admin/v1/runs: a job's runs (paged), or the latest runs of every job (of a source), newest first. */
export async function listRuns(deps: Pick<RelayDeps, 'ledger' | 'config' | 'now'>, query: ListRunsQuery): Promise<RunPageResponse> {
  const now = deps.now()
  if (query.job !== undefined && query.source === undefined) throw new HookferryError('request.invalid', 'query: job: give source too (job names are per source)', { statusCode: 400 })
  if (query.cursor !== undefined && query.job === undefined) throw new HookferryError('request.invalid', 'query: cursor: paging is per job: give source and job', { statusCode: 400 })
  const refs = query.job !== undefined ? [requireJob(deps, query.source!, query.job)] : jobsOf(deps.config).filter((ref) => query.source === undefined || ref.source === query.source)
  const pages = await Promise.all(
    refs.map((ref) =>
      deps.ledger.listRequests({ source: ref.source, recordId: ref.job, limit: query.limit, ...(query.state ? { state: query.state } : {}), ...(query.cursor ? { cursor: query.cursor } : {}) }),
    ),
  )
  const items = pages
    .flatMap((page) => page.items)
    .filter(isSyncRun)
    .sort((a, b) => (a.updatedAt === b.updatedAt ? b.id.localeCompare(a.id) : b.updatedAt.localeCompare(a.updatedAt)))
    .slice(0, query.limit)
    .map((request) => summarizeRun(request, now))
  const cursor = refs.length === 1 ? pages[0]?.cursor : undefined
  return { items, ...(cursor ? { cursor } : {}) }
}

/** GET /admin/v1/runs/{id}. */
export async function showRun(deps: Pick<RelayDeps, 'ledger' | 'now'>, id: string): Promise<RunDetailResponse> {
  return { run: detailOfRun(await requireRun(deps, id), deps.now()) }
}

/** POST /admin/v1/syncs/{source}/{job}/start. */
export async function startSync(deps: RelayDeps, source: string, job: string, body: StartSyncBody): Promise<StartSyncResponse> {
  const ref = requireJob(deps, source, job)
  const result = await triggerRun(deps, ref, {
    mode: body.full ? 'full' : 'incremental',
    trigger: 'admin',
    ...(body.since ? { since: body.since } : {}),
    ...(body.ids ? { ids: body.ids } : {}),
  })
  deps.log.info(`sync ${source}/${job}: run requested (${result.outcome})`, { source, job, runId: result.requestId, full: body.full, ids: body.ids?.length })
  return { runId: result.requestId, status: result.outcome }
}

/** POST /admin/v1/syncs/{source}/{job}/reset: sets the job's watermark (refused while a run that started holds the job). */
export async function resetSync(deps: RelayDeps, source: string, job: string, body: ResetSyncBody): Promise<ResetSyncResponse> {
  const ref = requireJob(deps, source, job)
  const now = deps.now()
  const request = runRequestSpec(deps.newId(), source, job, ref.config)
  const result = await deps.ledger.mutateRecord(ref.recordKey, [], (snapshot) => decideReset(snapshot, { request, to: body.to, now }))
  if (result.status === 'run_active') {
    throw new HookferryError('sync.run_active', `run ${result.requestId} of ${source}/${job} has started: cancel it first ("hookferry sync cancel ${result.requestId}"), then reset`, { statusCode: 409 })
  }
  deps.log.info(`sync ${source}/${job}: watermark reset`, { source, job, watermark: body.to })
  return { source, job, ...(result.job.watermark ? { watermark: result.job.watermark } : {}) }
}

/** POST /admin/v1/runs/{id}/cancel: the run is discarded; its agent's next checkpoint or ack is refused. */
export async function cancelRun(deps: RelayDeps, id: string): Promise<CancelRunResponse> {
  const run = await requireRun(deps, id)
  const now = deps.now()
  const result = await deps.ledger.mutateRecord(run.recordKey, [id], (snapshot) =>
    decideCancel(snapshot, { requestId: id, by: ADMIN_ACTOR, now, retentionSeconds: deps.config.retention.doneSeconds, nextRequestId: deps.newId() }),
  )
  if (result.status === 'not_active') throw new HookferryError('run.not_active', `run "${id}" is ${result.state ?? 'gone'}: only a queued or running run can be cancelled`, { statusCode: 409 })
  const next = result.next
  if (next) {
    await sendWorkMessages(deps, [{ requestId: next.id, recordKey: next.recordKey }]).catch((error: unknown) =>
      deps.log.warn('could not send the follow-up run; the repair sweep will re-send it', { runId: next.id, error: String(error) }),
    )
  }
  deps.log.info(`sync ${run.source}/${run.recordId}: run cancelled`, { runId: id, nextRunId: next?.id })
  return { runId: id, status: 'cancelled', ...(next ? { nextRunId: next.id } : {}) }
}

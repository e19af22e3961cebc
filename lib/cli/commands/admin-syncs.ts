import { InvalidArgumentError, Option, type Command } from 'commander'
import type { CancelRunResponse, ResetSyncResponse, RunDetail, RunDetailResponse, RunPageResponse, RunSummary, StartSyncResponse, SyncJobView, SyncsResponse } from '../../admin/sync-api.ts'
import { HookferryError } from '../../errors.ts'
import { formatWatermark, parseWatermark } from '../../relay/sync/watermark.ts'
import { REQUEST_STATES } from '../../relay/types.ts'
import { RemoteError } from '../cli-errors.ts'
import { adminClientFor, intWithin, printJson, printLine, processIo, withConnectionOptions, type AdminClient, type CliIo, type ConnectionOptions } from './admin-client.ts'
import { formatAgo, formatDuration, formatError, renderPairs, renderTable, truncate } from './admin-table.ts'

/** How often `sync start --wait` asks how the run is doing. */
export const WAIT_POLL_IN_MS = 1_000
const ENDED = new Set(['done', 'dead', 'discarded'])

const number = (value: number): string => value.toLocaleString('en-US')
const runState = (run: Pick<RunSummary, 'state' | 'startedAt'>): string => (run.state === 'queued' && run.startedAt ? 'retrying' : run.state === 'leased' ? 'running' : run.state)

/** The table of `hookferry syncs`. */
export function renderSyncTable(jobs: readonly SyncJobView[], now: Date): string {
  if (jobs.length === 0) return 'no sync jobs: declare them under sources.<name>.jobs in the server config'
  return renderTable(jobs, [
    { header: 'job', value: (job) => `${job.source}/${job.job}` },
    { header: 'schedule', value: (job) => (job.timezone === 'UTC' ? job.schedule : `${job.schedule} (${job.timezone})`) },
    { header: 'mode', value: (job) => (job.fullEvery ? `${job.mode}, full every ${job.fullEvery}` : job.mode) },
    { header: 'next run', value: (job) => (job.nextRunAt ? formatAgo(job.nextRunAt, now) : '') },
    { header: 'last run', value: (job) => (job.lastRun ? `${job.lastRun.state} ${formatAgo(job.lastRun.finishedAt, now)}` : 'never') },
    { header: 'watermark', value: (job) => truncate(formatWatermark(job.watermark), 40) },
    { header: 'age', value: (job) => (job.watermarkAgeSeconds === undefined ? '' : `${formatDuration(job.watermarkAgeSeconds)}${job.stalled ? ' STALLED' : ''}`), align: 'right' },
    { header: 'now', value: (job) => (job.running ? `${runState(job.running)} ${job.running.id} (${number(job.running.counts.read)} read)` : '') },
  ])
}

/** The table of `hookferry runs`. */
export function renderRunTable(items: readonly RunSummary[], now: Date): string {
  if (items.length === 0) return 'no runs match'
  return renderTable(items, [
    { header: 'id', value: (run) => run.id },
    { header: 'job', value: (run) => `${run.source}/${run.job}` },
    { header: 'state', value: runState },
    { header: 'mode', value: (run) => (run.idCount ? `${run.idCount} ids` : run.mode) },
    { header: 'trigger', value: (run) => run.trigger ?? '' },
    { header: 'read', value: (run) => number(run.counts.read), align: 'right' },
    { header: 'written', value: (run) => number(run.counts.written), align: 'right' },
    { header: 'rejected', value: (run) => number(run.counts.rejected), align: 'right' },
    { header: 'duration', value: (run) => (run.durationSeconds === undefined ? '' : formatDuration(run.durationSeconds)), align: 'right' },
    { header: 'updated', value: (run) => formatAgo(run.updatedAt, now) },
    { header: 'last error', value: (run) => truncate(formatError(run.lastError) || (run.discardReason ?? ''), 60) },
  ])
}

/** The output of `hookferry runs show`: the run, its counts, its errors and its attempts. */
export function renderRunDetail(run: RunDetail, now: Date): string {
  const at = (iso: string | undefined) => (iso ? `${iso} (${formatAgo(iso, now)})` : undefined)
  const { counts } = run
  const head = renderPairs([
    ['run', run.id],
    ['job', `${run.source}/${run.job}`],
    ['state', runState(run)],
    ['mode', run.ids ? `${run.mode}, ids ${truncate(run.ids.join(','), 80)}` : run.mode],
    ['trigger', run.trigger],
    ['attempts', `${run.attempts}/${run.maxAttempts}`],
    ['started', at(run.startedAt)],
    ['finished', at(run.finishedAt)],
    ['duration', run.durationSeconds === undefined ? undefined : formatDuration(run.durationSeconds)],
    ['from', run.startWatermark ? formatWatermark(run.startWatermark) : run.startedAt && !run.ids ? '(the beginning)' : undefined],
    ['checkpoint', formatWatermark(run.checkpoint)],
    ['until', run.until],
    ['leased by', run.leasedBy ? `${run.leasedBy} until ${run.leaseExpiresAt ?? '?'}` : undefined],
    ['next attempt', at(run.nextAttemptAt)],
    ['last error', formatError(run.lastError)],
    ['discarded', run.discardReason],
  ])
  const totals = renderTable([counts], [
    { header: 'read', value: (c) => number(c.read), align: 'right' },
    { header: 'written', value: (c) => number(c.written), align: 'right' },
    { header: 'unchanged', value: (c) => number(c.unchanged), align: 'right' },
    { header: 'stale', value: (c) => number(c.stale), align: 'right' },
    { header: 'rejected', value: (c) => number(c.rejected), align: 'right' },
    { header: 'deleted', value: (c) => number(c.deleted), align: 'right' },
    { header: 'pages', value: (c) => number(c.pages), align: 'right' },
    { header: 'chunks', value: () => number(run.chunks), align: 'right' },
  ])
  const errors =
    run.errors.length === 0
      ? 'no record errors'
      : renderTable(run.errors, [
          { header: 'at', value: (error) => error.at },
          { header: 'key', value: (error) => truncate(error.key, 40) },
          { header: 'error', value: (error) => truncate(formatError(error), 90) },
        ])
  const attempts =
    run.attemptHistory.length === 0
      ? 'no attempts yet'
      : renderTable(run.attemptHistory, [
          { header: '#', value: (attempt) => String(attempt.attempt), align: 'right' },
          { header: 'agent', value: (attempt) => attempt.agentId },
          { header: 'started', value: (attempt) => attempt.startedAt },
          { header: 'duration', value: (attempt) => (attempt.durationMs === undefined ? '' : formatDuration(attempt.durationMs / 1000)), align: 'right' },
          { header: 'outcome', value: (attempt) => attempt.outcome ?? 'running' },
          { header: 'error', value: (attempt) => truncate(formatError(attempt.error), 80) },
        ])
  return `${head}\n\n${totals}\n\nerrors (${run.errors.length})\n${errors}\n\nattempts\n${attempts}`
}

/** One line of `sync start --wait` on a terminal: records, records/s, pages, elapsed. */
export function renderRunProgress(run: RunSummary): string {
  const seconds = run.durationSeconds ?? 0
  const rate = seconds > 0 ? Math.round(run.counts.read / seconds) : 0
  const spinner = ['|', '/', '-', '\\'][Math.floor(seconds) % 4]!
  const state = run.state === 'leased' ? spinner : runState(run)
  return `${run.source}/${run.job} ${state} ${number(run.counts.read)} records  ${number(rate)}/s  ${number(run.counts.pages)} pages  ${number(run.counts.written)} written  ${formatDuration(seconds)}`
}

/** The one-line result of a finished run. */
export function renderRunOutcome(run: RunSummary): string {
  const { counts } = run
  const what = `${number(counts.read)} read, ${number(counts.written)} written, ${number(counts.unchanged)} unchanged, ${number(counts.rejected)} rejected, ${number(counts.pages)} pages`
  const took = run.durationSeconds === undefined ? '' : ` in ${formatDuration(run.durationSeconds)}`
  return run.state === 'done' ? `run ${run.id} done${took}: ${what}` : `run ${run.id} ${run.state}${took}: ${what}`
}

function describeStart(result: StartSyncResponse, job: string): string {
  switch (result.status) {
    case 'created':
      return `started run ${result.runId} of ${job}`
    case 'coalesced':
      return `joined run ${result.runId} of ${job}, which was already waiting`
    case 'deferred':
      return `run ${result.runId} of ${job} follows the run in progress`
  }
}

/** `source/job` as typed. */
function jobArgument(value: string): { source: string; job: string; path: string } {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(value)
  if (!match) throw new InvalidArgumentError('expected <source>/<job>, e.g. crm/contacts')
  const [, source, job] = match as unknown as [string, string, string]
  return { source, job, path: `/admin/v1/syncs/${encodeURIComponent(source)}/${encodeURIComponent(job)}` }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls a run until it ends, redrawing one progress line on a terminal. */
export async function waitForRun(client: AdminClient, runId: string, io: CliIo, pollMs = WAIT_POLL_IN_MS): Promise<RunDetail> {
  const showProgress = io.stderr.isTTY === true
  for (;;) {
    const { run } = await client.get<RunDetailResponse>(`/admin/v1/runs/${encodeURIComponent(runId)}`)
    if (ENDED.has(run.state)) {
      if (showProgress) io.stderr.write('\r\x1b[K')
      return run
    }
    if (showProgress) io.stderr.write(`\r\x1b[K${renderRunProgress(run)}`)
    await sleep(pollMs)
  }
}

interface RunListOptions extends ConnectionOptions {
  source?: string
  job?: string
  state?: string
  limit: number
  cursor?: string
}

interface StartOptions extends ConnectionOptions {
  full?: boolean
  since?: string
  ids?: string[]
  retryErrors?: string
  wait?: boolean
}

/** The record keys in a run's error list: what `--retry-errors` reads again. */
async function errorKeysOf(client: AdminClient, runId: string): Promise<string[]> {
  const { run } = await client.get<RunDetailResponse>(`/admin/v1/runs/${encodeURIComponent(runId)}`)
  const keys = [...new Set(run.errors.map((error) => error.key))]
  if (keys.length === 0) throw new RemoteError('sync.no_errors', `run ${runId} has no record errors to retry`)
  return keys
}

/** `hookferry syncs`, `hookferry runs [show <id>]` and `hookferry sync start|reset|cancel`. */
export function registerAdminSyncCommands(program: Command, io: CliIo = processIo, pollMs = WAIT_POLL_IN_MS): void {
  withConnectionOptions(program.command('syncs').description('List the scheduled sync jobs: schedule, next run, last run, watermark and its age.')).action(async (options: ConnectionOptions) => {
    const result = await adminClientFor(options, io).get<SyncsResponse>('/admin/v1/syncs')
    return options.json ? printJson(io, result) : printLine(io, renderSyncTable(result.jobs, new Date(result.serverTime)))
  })

  const runs = withConnectionOptions(
    program
      .command('runs')
      .description('List sync runs, newest first (or "runs show <id>" for one run).')
      .option('-s, --source <name>', 'only runs of this source')
      .option('-j, --job <name>', 'only runs of this job (with --source)')
      .addOption(new Option('--state <state>', 'only runs in this state').choices(REQUEST_STATES))
      .option('-n, --limit <n>', 'page size (1..1000)', intWithin(1, 1000), 50)
      .option('--cursor <cursor>', 'the next page, as printed by the previous one (with --source and --job)'),
  ).action(async (options: RunListOptions) => {
    const page = await adminClientFor(options, io).get<RunPageResponse>('/admin/v1/runs', { source: options.source, job: options.job, state: options.state, limit: options.limit, cursor: options.cursor })
    if (options.json) return printJson(io, page)
    printLine(io, renderRunTable(page.items, io.now()))
    if (page.cursor) io.stderr.write(`more runs: add --cursor ${page.cursor}\n`)
  })
  withConnectionOptions(runs.command('show').description('One sync run: its position, counts, record errors and attempts.').argument('<id>', 'run id')).action(async (id: string, _options: ConnectionOptions, command: Command) => {
    // --json, --url and --token may also be given to `runs` itself (they are its options too).
    const options = command.optsWithGlobals<ConnectionOptions>()
    const { run } = await adminClientFor(options, io).get<RunDetailResponse>(`/admin/v1/runs/${encodeURIComponent(id)}`)
    return options.json ? printJson(io, { run }) : printLine(io, renderRunDetail(run, io.now()))
  })

  const sync = program.command('sync').description('Start, reset or cancel scheduled sync runs.')
  withConnectionOptions(
    sync
      .command('start')
      .description('Start a run of a job now (it joins a waiting run, or follows the running one).')
      .argument('<source/job>', 'the job, e.g. crm/contacts', jobArgument)
      .option('--full', 'a full refresh instead of the incremental read')
      .option('--since <cursor[,key]>', 'start after this position instead of the job\'s watermark')
      .option('--ids <a,b,c>', 'read just these record ids (resend)', (value) => value.split(',').map((id) => id.trim()).filter((id) => id !== ''))
      .option('--retry-errors <runId>', 'read again the records in that run\'s error list')
      .option('--wait', 'wait for the run to end (a progress line on a terminal); exit 1 unless it is done'),
  ).action(async (target: ReturnType<typeof jobArgument>, options: StartOptions) => {
    if (options.ids?.length === 0) throw new HookferryError('cli.usage', '--ids: give at least one record id (a,b,c)', { statusCode: 400 })
    if (options.ids && options.retryErrors) throw new HookferryError('cli.usage', 'give --ids or --retry-errors, not both', { statusCode: 400 })
    const client = adminClientFor(options, io)
    const ids = options.retryErrors ? await errorKeysOf(client, options.retryErrors) : options.ids
    const body = { ...(options.full ? { full: true } : {}), ...(options.since ? { since: parseWatermark(options.since) } : {}), ...(ids ? { ids } : {}) }
    const started = await client.post<StartSyncResponse>(`${target.path}/start`, body)
    if (!options.wait) return options.json ? printJson(io, started) : printLine(io, describeStart(started, `${target.source}/${target.job}`))
    if (!options.json) printLine(io, describeStart(started, `${target.source}/${target.job}`))
    const run = await waitForRun(client, started.runId, io, pollMs)
    if (options.json) printJson(io, { run })
    else printLine(io, renderRunOutcome(run))
    if (run.state !== 'done') throw new RemoteError('sync.run_failed', `run ${run.id} ended ${run.state}: ${formatError(run.lastError) || run.discardReason || 'no error recorded'}`)
  })

  withConnectionOptions(
    sync
      .command('reset')
      .description('Set a job\'s watermark: the next incremental run starts after it.')
      .argument('<source/job>', 'the job, e.g. crm/contacts', jobArgument)
      .option('--to <cursor[,key]>', 'the new watermark (a cursor alone: every record at that cursor is read again)')
      .option('--clear', 'remove the watermark: the next incremental run reads from the beginning'),
  ).action(async (target: ReturnType<typeof jobArgument>, options: ConnectionOptions & { to?: string; clear?: boolean }) => {
    if ((options.to === undefined) === (options.clear !== true)) throw new HookferryError('cli.usage', 'give either --to <cursor[,key]> or --clear', { statusCode: 400 })
    const result = await adminClientFor(options, io).post<ResetSyncResponse>(`${target.path}/reset`, { to: options.to === undefined ? null : parseWatermark(options.to) })
    return options.json ? printJson(io, result) : printLine(io, result.watermark ? `${result.source}/${result.job}: watermark set to ${formatWatermark(result.watermark)}` : `${result.source}/${result.job}: watermark cleared (the next incremental run reads from the beginning)`)
  })

  withConnectionOptions(sync.command('cancel').description('Cancel a waiting or running run; its agent stops at its next checkpoint.').argument('<runId>', 'run id')).action(async (id: string, options: ConnectionOptions) => {
    const result = await adminClientFor(options, io).post<CancelRunResponse>(`/admin/v1/runs/${encodeURIComponent(id)}/cancel`)
    return options.json ? printJson(io, result) : printLine(io, `cancelled ${result.runId}${result.nextRunId ? `; run ${result.nextRunId} follows for triggers that arrived meanwhile` : ''}`)
  })
}

import type { Command } from 'commander'
import type { BulkReplayCounts, BulkReplayResponse, DiscardResponse, ReplayResponse, RequestPageResponse, RequestSummary } from '../../admin/admin-api.ts'
import { HookferryError } from '../../errors.ts'
import { RemoteError } from '../cli-errors.ts'
import { adminClientFor, parseTimeOption, printJson, printLine, processIo, withConnectionOptions, type AdminClient, type CliIo, type ConnectionOptions } from './admin-client.ts'
import { printRequestPage, withRequestFilters, type ListOptions } from './admin-requests.ts'
import { formatAgo, formatError, renderTable, truncate } from './admin-table.ts'

/** Dead letters replayed per admin API call: each call is well inside the 29 s function timeout. */
const REPLAY_BATCH = 100
const COUNT_PAGE = 1000
const BAR_WIDTH = 30

/** The table of `hookferry dead-letters`. */
export function renderDeadLetterTable(items: readonly RequestSummary[], now: Date): string {
  if (items.length === 0) return 'no dead letters match'
  return renderTable(items, [
    { header: 'id', value: (request) => request.id },
    { header: 'source', value: (request) => request.source },
    { header: 'record', value: (request) => truncate(request.recordType ? `${request.recordType}/${request.recordId}` : request.recordId, 40) },
    { header: 'attempts', value: (request) => `${request.attempts}/${request.maxAttempts}`, align: 'right' },
    { header: 'died', value: (request) => formatAgo(request.updatedAt, now) },
    { header: 'last error', value: (request) => truncate(formatError(request.lastError), 70) },
  ])
}

/** The one-line result of `hookferry replay --all`. */
export function renderReplaySummary(counts: BulkReplayCounts): string {
  const total = counts.replayed + counts.folded + counts.skipped + counts.failed
  if (total === 0) return 'no dead letters match: nothing replayed'
  return `replayed ${counts.replayed} of ${total} dead letter${total === 1 ? '' : 's'}; folded ${counts.folded} into waiting work, skipped ${counts.skipped} (no longer dead), failed ${counts.failed}`
}

/** `[#####-----]  50/100`, redrawn in place on a terminal. */
export function renderProgressBar(done: number, total: number): string {
  const ratio = total > 0 ? Math.min(done / total, 1) : 1
  const filled = Math.round(ratio * BAR_WIDTH)
  return `replaying [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${done}/${Math.max(total, done)}`
}

interface ReplayAllOptions extends ConnectionOptions {
  source?: string
  since?: string
  until?: string
}

/** Counts the matching dead letters first, only to size the progress bar. */
async function countDeadLetters(client: AdminClient, filter: Omit<ReplayAllOptions, keyof ConnectionOptions>): Promise<number> {
  let total = 0
  let cursor: string | undefined
  do {
    const page = await client.get<RequestPageResponse>('/admin/v1/requests', { state: 'dead', ...filter, limit: COUNT_PAGE, cursor })
    total += page.items.length
    cursor = page.cursor
  } while (cursor)
  return total
}

/** Replays every matching dead letter in batches, following the server's cursor; progress on a terminal. */
export async function replayAll(options: ReplayAllOptions, io: CliIo): Promise<BulkReplayCounts> {
  const client = adminClientFor(options, io)
  const filter = { source: options.source, since: options.since, until: options.until }
  const showProgress = io.stderr.isTTY === true
  const total = showProgress ? await countDeadLetters(client, filter) : 0
  const counts: BulkReplayCounts = { replayed: 0, folded: 0, skipped: 0, failed: 0 }
  let cursor: string | undefined
  do {
    const result = await client.post<BulkReplayResponse>('/admin/v1/dead-letters/replay', { ...filter, limit: REPLAY_BATCH, ...(cursor ? { cursor } : {}) })
    for (const key of ['replayed', 'folded', 'skipped', 'failed'] as const) counts[key] += result[key]
    cursor = result.cursor
    if (showProgress) io.stderr.write(`\r${renderProgressBar(counts.replayed + counts.folded + counts.skipped + counts.failed, total)}`)
  } while (cursor)
  if (showProgress) io.stderr.write('\r\x1b[K')
  return counts
}

function describeReplay(result: ReplayResponse): string {
  return result.status === 'requeued'
    ? `replayed ${result.requestId}: queued again`
    : `replayed ${result.requestId}: folded into request ${result.intoRequestId}, which already waits or runs for the same record`
}

/** `hookferry dead-letters`, `hookferry replay` and `hookferry discard`. */
export function registerAdminDeadLetterCommands(program: Command, io: CliIo = processIo): void {
  withConnectionOptions(withRequestFilters(program.command('dead-letters').description('List dead-lettered requests, newest first, with their last error.'), io)).action(
    (options: ListOptions) => printRequestPage({ ...options, state: 'dead' }, io, 'dead-letters', renderDeadLetterTable),
  )

  withConnectionOptions(
    program
      .command('replay')
      .description('Replay one dead letter, or every dead letter of a source and/or time range with --all.')
      .argument('[id]', 'request id of the dead letter')
      .option('--all', 'replay every dead letter that matches --source/--since/--until')
      .option('-s, --source <name>', 'with --all: only this source')
      .option('--since <time>', 'with --all: died at or after (ISO time, or 30m, 2h, 7d back from now)', (value) => parseTimeOption(value, io.now()))
      .option('--until <time>', 'with --all: died before (ISO time, or a span back from now)', (value) => parseTimeOption(value, io.now())),
  ).action(async (id: string | undefined, options: ReplayAllOptions & { all?: boolean }) => {
    const filtered = options.source !== undefined || options.since !== undefined || options.until !== undefined
    if (id !== undefined && (options.all || filtered)) throw new HookferryError('cli.usage', 'give either a request id or --all (with filters), not both', { statusCode: 400 })
    if (id === undefined && !options.all) throw new HookferryError('cli.usage', 'give the request id to replay, or --all to replay every matching dead letter', { statusCode: 400 })
    if (id !== undefined) {
      const result = await adminClientFor(options, io).post<ReplayResponse>(`/admin/v1/requests/${encodeURIComponent(id)}/replay`)
      return options.json ? printJson(io, result) : printLine(io, describeReplay(result))
    }
    const counts = await replayAll(options, io)
    if (options.json) printJson(io, counts)
    else printLine(io, renderReplaySummary(counts))
    if (counts.failed > 0) throw new RemoteError('cli.replay_incomplete', `${counts.failed} dead letter(s) could not be replayed (see the server log); run the command again`, { statusCode: 400 })
  })

  withConnectionOptions(
    program
      .command('discard')
      .description('Give up on a dead letter; the reason is kept with the request until it expires.')
      .argument('<id>', 'request id of the dead letter')
      .requiredOption('--reason <text>', 'why it is discarded (kept in the request history)'),
  ).action(async (id: string, options: ConnectionOptions & { reason: string }) => {
    const result = await adminClientFor(options, io).post<DiscardResponse>(`/admin/v1/requests/${encodeURIComponent(id)}/discard`, { reason: options.reason })
    return options.json ? printJson(io, result) : printLine(io, `discarded ${result.requestId}`)
  })
}

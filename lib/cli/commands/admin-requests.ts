import { Option, type Command } from 'commander'
import type { RequestDetailResponse, RequestPageResponse, RequestSummary } from '../../admin/admin-api.ts'
import { REQUEST_STATES } from '../../relay/types.ts'
import { adminClientFor, intWithin, parseTimeOption, printJson, printLine, processIo, withConnectionOptions, type CliIo, type ConnectionOptions } from './admin-client.ts'
import { formatAgo, formatError, formatMilliseconds, renderPairs, renderTable, truncate, type Column } from './admin-table.ts'

export interface ListOptions extends ConnectionOptions {
  source?: string
  state?: string
  record?: string
  since?: string
  until?: string
  limit: number
  cursor?: string
}

const record = (request: RequestSummary) => (request.recordType ? `${request.recordType}/${request.recordId}` : request.recordId)

/** The table of `hookferry requests`. */
export function renderRequestTable(items: readonly RequestSummary[], now: Date): string {
  if (items.length === 0) return 'no requests match'
  const columns: Column<RequestSummary>[] = [
    { header: 'id', value: (request) => request.id },
    { header: 'source', value: (request) => request.source },
    { header: 'record', value: (request) => truncate(record(request), 40) },
    { header: 'state', value: (request) => request.state },
    { header: 'attempts', value: (request) => `${request.attempts}/${request.maxAttempts}`, align: 'right' },
    { header: 'events', value: (request) => String(request.eventCount), align: 'right' },
    { header: 'updated', value: (request) => formatAgo(request.updatedAt, now) },
    { header: 'last error', value: (request) => truncate(formatError(request.lastError), 60) },
  ]
  return renderTable(items, columns)
}

/** The output of `hookferry show`: the request, its events and its attempts. */
export function renderRequestDetail({ request, record: recordNow }: RequestDetailResponse, now: Date): string {
  const at = (iso: string | undefined) => (iso ? `${iso} (${formatAgo(iso, now)})` : undefined)
  const which = recordNow?.requestId === request.id ? 'this request' : `request ${recordNow?.requestId ?? '?'}`
  const recordState = !recordNow
    ? undefined
    : recordNow.state === 'idle'
      ? 'idle (nothing waiting or running)'
      : `${recordNow.state === 'queued' ? 'waiting' : 'processing'}: ${which}${recordNow.dirty ? `, then ${recordNow.pendingEvents} newer event(s)` : ''}`
  const head = renderPairs([
    ['request', request.id],
    ['source', request.source],
    ['record', record(request)],
    ['state', request.state],
    ['mode', request.mode],
    ['attempts', `${request.attempts}/${request.maxAttempts}`],
    ['created', at(request.createdAt)],
    ['updated', at(request.updatedAt)],
    ['next attempt', at(request.nextAttemptAt)],
    ['leased by', request.leasedBy ? `${request.leasedBy} until ${request.leaseExpiresAt ?? '?'}` : undefined],
    ['last error', formatError(request.lastError)],
    ['discarded', request.discardReason],
    ['record now', recordState],
    ['payload', request.hasPayload ? 'kept (forwardPayload source; not shown)' : undefined],
    ['reply', request.replyStatus === undefined ? undefined : `HTTP ${request.replyStatus}`],
  ])
  const events = renderTable(request.events, [
    { header: 'received', value: (event) => event.receivedAt },
    { header: 'event', value: (event) => event.event ?? '' },
    { header: 'delivery id', value: (event) => truncate(event.deliveryId, 50) },
  ])
  const attempts =
    request.attemptHistory.length === 0
      ? 'no attempts yet'
      : renderTable(request.attemptHistory, [
          { header: '#', value: (attempt) => String(attempt.attempt), align: 'right' },
          { header: 'agent', value: (attempt) => attempt.agentId },
          { header: 'started', value: (attempt) => attempt.startedAt },
          { header: 'duration', value: (attempt) => (attempt.durationMs === undefined ? '' : formatMilliseconds(attempt.durationMs)), align: 'right' },
          { header: 'outcome', value: (attempt) => attempt.outcome ?? 'running' },
          { header: 'error', value: (attempt) => truncate(formatError(attempt.error), 80) },
        ])
  const shownEvents = request.events.length < request.eventCount ? `events (latest ${request.events.length} of ${request.eventCount})` : `events (${request.eventCount})`
  return `${head}\n\n${shownEvents}\n${events}\n\nattempts\n${attempts}`
}

/** Prints one page of requests (table or JSON) and, for tables, how to get the next page. */
export async function printRequestPage(
  options: ListOptions,
  io: CliIo,
  command: string,
  render: (items: readonly RequestSummary[], now: Date) => string = renderRequestTable,
): Promise<void> {
  const client = adminClientFor(options, io)
  const page = await client.get<RequestPageResponse>('/admin/v1/requests', {
    source: options.source,
    state: options.state,
    record: options.record,
    since: options.since,
    until: options.until,
    limit: options.limit,
    cursor: options.cursor,
  })
  if (options.json) return printJson(io, page)
  printLine(io, render(page.items, io.now()))
  if (page.cursor) io.stderr.write(`more: run "hookferry ${command}" again with the same filters and --cursor ${page.cursor}\n`)
}

/** Filters shared by `requests` and `dead-letters`. */
export function withRequestFilters(command: Command, io: CliIo): Command {
  return command
    .option('-s, --source <name>', 'only this source')
    .option('-r, --record <id>', 'only this record id')
    .option('--since <time>', 'updated at or after: ISO time or a span back from now (30m, 2h, 7d)', (value) => parseTimeOption(value, io.now()))
    .option('--until <time>', 'updated before: ISO time or a span back from now', (value) => parseTimeOption(value, io.now()))
    .option('-n, --limit <n>', 'how many (newest first)', intWithin(1, 1000), 50)
    .option('--cursor <cursor>', 'continue after the previous page')
}

/** `hookferry requests` and `hookferry show <id>`. */
export function registerAdminRequestCommands(program: Command, io: CliIo = processIo): void {
  const requests = program
    .command('requests')
    .description('List execute requests, newest first (admin API).')
    .addOption(new Option('--state <state>', 'only this state').choices(REQUEST_STATES))
  withConnectionOptions(withRequestFilters(requests, io)).action((options: ListOptions) => printRequestPage(options, io, 'requests'))

  withConnectionOptions(program.command('show').description('Show one request: its events and every attempt (agent, duration, outcome, error).').argument('<id>', 'request id')).action(
    async (id: string, options: ConnectionOptions) => {
      const detail = await adminClientFor(options, io).get<RequestDetailResponse>(`/admin/v1/requests/${encodeURIComponent(id)}`)
      if (options.json) printJson(io, detail)
      else printLine(io, renderRequestDetail(detail, io.now()))
    },
  )
}

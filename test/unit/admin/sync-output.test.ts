import { describe, expect, it } from 'vitest'
import type { RunDetail, RunSummary, SyncJobView } from '../../../lib/admin/sync-api.ts'
import { renderRunDetail, renderRunOutcome, renderRunProgress, renderRunTable, renderSyncTable } from '../../../lib/cli/commands/admin-syncs.ts'
import { ZERO_COUNTS } from '../../../lib/relay/sync-types.ts'

const NOW = new Date('2026-03-01T12:00:00.000Z')
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString()

const run = (overrides: Partial<RunSummary> = {}): RunSummary => ({
  id: 'run-1',
  source: 'crm',
  job: 'contacts',
  state: 'done',
  mode: 'incremental',
  trigger: 'schedule',
  counts: { ...ZERO_COUNTS, read: 12_000, written: 11_000, unchanged: 990, rejected: 10, pages: 12 },
  chunks: 12,
  errorCount: 1,
  attempts: 1,
  maxAttempts: 5,
  createdAt: ago(700),
  updatedAt: ago(600),
  startedAt: ago(700),
  finishedAt: ago(600),
  durationSeconds: 100,
  ...overrides,
})

const job = (overrides: Partial<SyncJobView> = {}): SyncJobView => ({
  source: 'crm',
  job: 'contacts',
  schedule: '0 2 * * *',
  timezone: 'UTC',
  mode: 'incremental',
  lagSeconds: 60,
  nextRunAt: '2026-03-02T02:00:00.000Z',
  stalled: false,
  ...overrides,
})

describe('sync output', () => {
  it('lists jobs with schedule, next and last run, watermark and its age, and the run now', () => {
    const table = renderSyncTable(
      [
        job({ watermark: { cursor: '2026-03-01T01:59:00Z', key: 'c-9' }, watermarkAgeSeconds: 36_000, lastRun: { id: 'run-1', mode: 'incremental', state: 'done', finishedAt: ago(36_000), counts: ZERO_COUNTS } }),
        job({ job: 'weekly', schedule: '0 3 * * 0', timezone: 'Europe/Berlin', mode: 'full', watermarkAgeSeconds: 3 * 86_400, stalled: true, running: run({ id: 'run-2', state: 'leased', counts: { ...ZERO_COUNTS, read: 1500 } }) }),
      ],
      NOW,
    )
    expect(table.split('\n')).toEqual([
      'JOB           SCHEDULE                   MODE         NEXT RUN  LAST RUN      WATERMARK                        AGE  NOW',
      'crm/contacts  0 2 * * *                  incremental  in 14h    done 10h ago  2026-03-01T01:59:00Z,c-9         10h',
      'crm/weekly    0 3 * * 0 (Europe/Berlin)  full         in 14h    never                                   3d STALLED  running run-2 (1,500 read)',
    ])
    expect(renderSyncTable([], NOW)).toContain('no sync jobs')
  })

  it('lists runs with their counts and duration', () => {
    expect(renderRunTable([run(), run({ id: 'run-0', state: 'queued', startedAt: ago(10), idCount: 3, lastError: { code: 'list.http_500', message: 'boom' } })], NOW).split('\n')).toEqual([
      'ID     JOB           STATE     MODE         TRIGGER     READ  WRITTEN  REJECTED  DURATION  UPDATED  LAST ERROR',
      'run-1  crm/contacts  done      incremental  schedule  12,000   11,000        10    1m 40s  10m ago',
      'run-0  crm/contacts  retrying  3 ids        schedule  12,000   11,000        10    1m 40s  10m ago  list.http_500: boom',
    ])
  })

  it('shows one run: position, totals, record errors and attempts', () => {
    const detail: RunDetail = {
      ...run(),
      startWatermark: { cursor: '2026-02-28T02:00:00Z', key: '' },
      checkpoint: { cursor: '2026-03-01T01:59:00Z', key: 'c-9' },
      until: '2026-03-01T01:59:00.000Z',
      errors: [{ key: 'c-3', code: 'sink.rejected', message: 'email is not valid', at: ago(650) }],
      triggers: [],
      attemptHistory: [{ attempt: 1, agentId: 'onprem-1', leaseId: 'l', startedAt: ago(700), endedAt: ago(600), outcome: 'done', durationMs: 100_000 }],
    }
    const text = renderRunDetail(detail, NOW)
    expect(text).toContain('from        2026-02-28T02:00:00Z\ncheckpoint  2026-03-01T01:59:00Z,c-9\nuntil       2026-03-01T01:59:00.000Z')
    expect(text).toContain('READ  WRITTEN  UNCHANGED  STALE  REJECTED  DELETED  PAGES  CHUNKS\n12,000   11,000        990      0        10        0     12      12')
    expect(text).toContain('errors (1)\nAT                        KEY  ERROR\n2026-03-01T11:49:10.000Z  c-3  sink.rejected: email is not valid')
    expect(text).toContain('1  onprem-1  2026-03-01T11:48:20.000Z    1m 40s  done')
  })

  it('draws the progress line with records per second, and sums up the outcome', () => {
    expect(renderRunProgress(run({ state: 'leased', durationSeconds: 10, counts: { ...ZERO_COUNTS, read: 25_000, written: 24_000, pages: 25 } }))).toBe('crm/contacts - 25,000 records  2,500/s  25 pages  24,000 written  10s')
    expect(renderRunProgress(run({ state: 'queued' }))).toBe('crm/contacts retrying 12,000 records  120/s  12 pages  11,000 written  1m 40s')
    expect(renderRunOutcome(run())).toBe('run run-1 done in 1m 40s: 12,000 read, 11,000 written, 990 unchanged, 10 rejected, 12 pages')
  })
})

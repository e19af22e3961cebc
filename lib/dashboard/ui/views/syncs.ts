import type { RunPageResponse, RunSummary, StartSyncResponse, SyncJobView, SyncsResponse } from '../../../admin/sync-api.ts'
import type { Watermark } from '../../../relay/sync-types.ts'
import { api, ApiError } from '../api.ts'
import { confirmButton } from '../confirm.ts'
import { emptyState, fill, h, table } from '../dom.ts'
import { ago, count, dateTime, duration } from '../format.ts'
import { errorBox, stateBadge, type View } from '../view.ts'

export const watermarkText = (watermark: Watermark | undefined): string => (watermark ? `${watermark.cursor}${watermark.key === '' ? '' : ` / ${watermark.key}`}` : 'none (reads from the beginning)')

/** read / written / rejected, the figures a person checks first. */
export const countsText = (run: Pick<RunSummary, 'counts'>): string => `${count(run.counts.read)} read · ${count(run.counts.written)} written · ${count(run.counts.rejected)} rejected`

const jobPath = (job: Pick<SyncJobView, 'source' | 'job'>) => `/syncs/${encodeURIComponent(job.source)}/${encodeURIComponent(job.job)}`

/** Syncs: each scheduled job (schedule, next run, watermark and its age, last and current run), its recent runs, and start / full refresh / reset. */
export const syncsView: View = (context) => {
  const jobsBox = h('div', {})
  const runsBox = h('div', {})
  const notice = h('p', { class: 'notice', role: 'status', hidden: true })
  const say = (message: string) => {
    notice.textContent = message
    notice.hidden = false
    context.announce(message)
  }
  fill(context.root, h('h1', {}, 'Syncs'), notice, h('h2', {}, 'Jobs'), jobsBox, h('h2', {}, 'Recent runs'), runsBox)

  const act = (what: string, call: () => Promise<string>) => async () => {
    try {
      say(await call())
    } catch (error) {
      say(`${what} failed: ${error instanceof ApiError ? `${error.message} (${error.code})` : String(error)}`)
    }
    lastJson = ''
    await refresh()
  }
  const started = (job: SyncJobView, result: StartSyncResponse) =>
    `${job.source}/${job.job}: ${result.status === 'created' ? 'run started' : result.status === 'coalesced' ? 'joined the run already waiting' : 'runs once the current run ends'} (run ${result.runId}).`

  function jobRow(job: SyncJobView): HTMLTableRowElement {
    const start = h('button', { type: 'button', class: 'primary', onclick: act('Start', async () => started(job, await api<StartSyncResponse>('POST', `${jobPath(job)}/start`, { body: {} }))) }, 'Start run')
    const full = confirmButton('Full refresh…', `Read all of ${job.job} again from the source?`, 'Yes, full refresh', act('Full refresh', async () => started(job, await api<StartSyncResponse>('POST', `${jobPath(job)}/start`, { body: { full: true } }))))
    const reset = confirmButton('Reset watermark…', `Forget the watermark of ${job.job}? The next incremental run reads everything.`, 'Yes, reset', act('Reset', async () => {
      await api('POST', `${jobPath(job)}/reset`, { body: { to: null } })
      return `${job.source}/${job.job}: watermark reset; the next run reads from the beginning.`
    }), 'danger')
    const running = job.running
    return h('tr', { 'data-job': `${job.source}/${job.job}`, class: job.stalled ? 'row-silent' : undefined },
      h('td', {}, h('strong', {}, job.job), h('br'), h('span', { class: 'muted' }, job.source)),
      h('td', {}, h('code', {}, job.schedule), ` ${job.timezone}`, h('br'), h('span', { class: 'muted' }, `${job.mode}${job.fullEvery ? `, full every ${job.fullEvery}` : ''}`)),
      h('td', {}, job.nextRunAt ? h('time', { datetime: job.nextRunAt }, dateTime(job.nextRunAt)) : '–'),
      h('td', {}, h('code', {}, watermarkText(job.watermark)), h('br'),
        job.stalled ? h('span', { class: 'badge badge-silent' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), `Behind: not moved for ${duration(job.watermarkAgeSeconds ?? 0)}`) : h('span', { class: 'muted' }, job.watermarkAgeSeconds === undefined ? 'never moved' : `moved ${duration(job.watermarkAgeSeconds)} ago`)),
      h('td', {}, running
        ? [stateBadge(running.state === 'leased' ? 'running' : running.state), ' ', h('a', { href: `#/syncs/runs/${encodeURIComponent(running.id)}` }, countsText(running)), h('br'), h('span', { class: 'muted' }, `${running.chunks} chunks${running.durationSeconds === undefined ? '' : ` · ${duration(running.durationSeconds)}`}`)]
        : job.lastRun ? [stateBadge(job.lastRun.state), ' ', h('a', { href: `#/syncs/runs/${encodeURIComponent(job.lastRun.id)}` }, countsText(job.lastRun)), h('br'), h('span', { class: 'muted' }, `${job.lastRun.mode}, finished ${ago(job.lastRun.finishedAt)}`), job.lastRun.error ? h('p', { class: 'error-text' }, job.lastRun.error) : null]
          : h('span', { class: 'muted' }, 'no run yet')),
      h('td', { class: 'row-actions' }, start, full, reset),
    )
  }

  let lastJson = ''
  async function refresh(): Promise<void> {
    try {
      const [syncs, runs] = await Promise.all([api<SyncsResponse>('GET', '/syncs'), api<RunPageResponse>('GET', '/runs', { query: { limit: 20 } })])
      if (context.gone) return
      const json = JSON.stringify([syncs.jobs, runs.items])
      if (json === lastJson) return
      lastJson = json
      if (syncs.jobs.length === 0) {
        fill(jobsBox, emptyState('No sync job is configured.', 'Declare one under ', h('code', {}, 'sources.<source>.jobs'), ' in the server config (a schedule, and the agent\'s list connector reads the records); it appears here once the server is restarted.'))
        return fill(runsBox)
      }
      fill(jobsBox, table('Sync jobs', ['Job', 'Schedule', 'Next run', 'Watermark', 'Run now / last run', 'Actions'], syncs.jobs.map(jobRow)))
      fill(runsBox, runs.items.length === 0
        ? emptyState('No run yet.', 'Runs start on schedule, or press "Start run" above.')
        : table('Recent runs, newest first', ['Run', 'Job', 'State', 'Mode', 'Records', 'Chunks', 'Errors', 'Duration'], runs.items.map((run) =>
          h('tr', { 'data-run-id': run.id },
            h('td', {}, h('a', { href: `#/syncs/runs/${encodeURIComponent(run.id)}` }, dateTime(run.startedAt ?? run.createdAt))),
            h('td', {}, `${run.source}/${run.job}`),
            h('td', {}, stateBadge(run.state === 'leased' ? 'running' : run.state)),
            h('td', {}, `${run.mode}${run.trigger ? ` (${run.trigger})` : ''}`),
            h('td', {}, countsText(run)),
            h('td', { class: 'num' }, count(run.chunks)),
            h('td', { class: 'num' }, count(run.errorCount)),
            h('td', {}, run.durationSeconds === undefined ? '–' : duration(run.durationSeconds)),
          ))))
    } catch (error) {
      if (!context.gone) fill(jobsBox, errorBox(error instanceof ApiError && error.status === 404 ? 'This server has no sync API:' : 'Could not load syncs:', error))
    }
  }
  context.poll(2_000, refresh)
}

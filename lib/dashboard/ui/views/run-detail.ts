import type { CancelRunResponse, RunDetailResponse } from '../../../admin/sync-api.ts'
import { api, ApiError } from '../api.ts'
import { confirmButton } from '../confirm.ts'
import { emptyState, fill, h, table } from '../dom.ts'
import { count, dateTime, duration, milliseconds } from '../format.ts'
import { errorBox, stateBadge, type View } from '../view.ts'
import { countsText, watermarkText } from './syncs.ts'

/** One sync run: progress (counts, chunks, checkpoint), its errors and attempts; cancel while it is active. */
export const runDetailView: View = (context) => {
  const id = decodeURIComponent(context.params.id ?? '')
  const body = h('div', {})
  const notice = h('p', { class: 'notice', role: 'status', hidden: true })
  fill(context.root, h('p', {}, h('a', { href: '#/syncs' }, '← Syncs')), h('h1', {}, 'Sync run ', h('code', {}, id)), notice, body)
  let lastJson = ''
  const refresh = async () => {
    try {
      const { run } = await api<RunDetailResponse>('GET', `/runs/${encodeURIComponent(id)}`)
      if (context.gone) return
      const json = JSON.stringify(run)
      if (json === lastJson) return
      lastJson = json
      const active = run.state === 'queued' || run.state === 'leased'
      const c = run.counts
      fill(body,
        h('dl', { class: 'facts' },
          [['State', stateBadge(run.state === 'leased' ? 'running' : run.state)], ['Job', `${run.source}/${run.job}`], ['Mode', `${run.mode}${run.trigger ? ` (${run.trigger})` : ''}`], ['Progress', h('span', { class: 'progress-text' }, countsText(run))],
            ['Also', `${count(c.unchanged)} unchanged · ${count(c.stale)} stale · ${count(c.deleted)} deleted · ${count(c.pages)} pages`], ['Chunks committed', count(run.chunks)],
            ['Start position', run.startWatermark ? watermarkText(run.startWatermark) : '–'], ['Checkpoint', run.checkpoint ? watermarkText(run.checkpoint) : '–'],
            ['Started', dateTime(run.startedAt)], ['Finished', dateTime(run.finishedAt)], ['Duration', run.durationSeconds === undefined ? '–' : duration(run.durationSeconds)],
            ['Attempts', `${run.attempts} of ${run.maxAttempts}`], ['Agent', run.leasedBy ?? run.attemptHistory.at(-1)?.agentId ?? '–'],
            ['Last error', run.lastError ? `${run.lastError.code ?? 'error'}: ${run.lastError.message}` : '–']]
            .map(([name, value]) => [h('dt', {}, name as string), h('dd', {}, value as string | HTMLElement)])),
        active ? h('div', { class: 'actions' }, confirmButton('Cancel run…', 'Cancel this run? Committed chunks stay; the watermark keeps its last promoted position.', 'Yes, cancel', async () => {
          try {
            const result = await api<CancelRunResponse>('POST', `/runs/${encodeURIComponent(id)}/cancel`)
            notice.textContent = `Cancelled.${result.nextRunId ? ` Run ${result.nextRunId} follows for triggers that came meanwhile.` : ''}`
          } catch (error) {
            notice.textContent = `Cancel failed: ${error instanceof ApiError ? error.message : String(error)}`
          }
          notice.hidden = false
          await refresh()
        }, 'danger')) : null,
        h('h2', {}, `Errors (${run.errors.length})`),
        run.errors.length === 0 ? emptyState('No record failed in this run.', '') : table('Records the run could not deliver', ['At', 'Record', 'Code', 'Message'], run.errors.map((error) => h('tr', {}, h('td', {}, dateTime(error.at)), h('td', {}, error.key), h('td', {}, h('code', {}, error.code ?? '–')), h('td', { class: 'error-text' }, error.message)))),
        h('h2', {}, 'Attempts'),
        run.attemptHistory.length === 0 ? emptyState('Not picked up yet.', 'An agent with this source\'s list connector takes it on its next poll.') : table('Attempts', ['Attempt', 'Agent', 'Started', 'Duration', 'Outcome', 'Error or note'], run.attemptHistory.map((attempt) => h('tr', {}, h('td', { class: 'num' }, attempt.attempt), h('td', {}, attempt.agentId), h('td', {}, dateTime(attempt.startedAt)), h('td', {}, milliseconds(attempt.durationMs)), h('td', {}, attempt.outcome ?? 'running'), h('td', { class: attempt.outcome === 'done' ? 'muted' : 'error-text' }, attempt.error ? `${attempt.error.code ?? ''} ${attempt.error.message}`.trim() : '')))),
      )
    } catch (error) {
      if (!context.gone) fill(body, errorBox('Could not load the run:', error))
    }
  }
  context.poll(1_000, refresh)
}

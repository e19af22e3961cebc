import type { RequestDetail, RequestDetailResponse } from '../../../admin/admin-api.ts'
import { api, ApiError } from '../api.ts'
import { discardControl, replayOne, replayOutcome } from '../dead-letter-actions.ts'
import { fill, h } from '../dom.ts'
import { ago, dateTime, milliseconds } from '../format.ts'
import { errorBox, stateBadge, type View } from '../view.ts'

interface Step {
  at: string
  kind: 'event' | 'attempt' | 'now'
  title: string
  lines: (string | HTMLElement)[]
  tone?: 'ok' | 'bad' | 'warn'
}

/** The request's history as one timeline: events received and every attempt (agent, duration, outcome, error). */
function timeline(request: RequestDetail): Step[] {
  const steps: Step[] = request.events.map((event) => ({ at: event.receivedAt, kind: 'event', title: `Webhook received${event.event ? `: ${event.event}` : ''}`, lines: [`delivery ${event.deliveryId}`] }))
  for (const attempt of request.attemptHistory) {
    const outcome = attempt.outcome ?? 'in progress'
    steps.push({
      at: attempt.startedAt,
      kind: 'attempt',
      title: `Attempt ${attempt.attempt} by ${attempt.agentId}: ${outcome}`,
      lines: [
        `started ${dateTime(attempt.startedAt)}${attempt.endedAt ? `, ended ${dateTime(attempt.endedAt)}` : ''} · ${milliseconds(attempt.durationMs)}`,
        ...(attempt.error ? [h('span', { class: 'error-text' }, `${attempt.error.code ?? 'error'}: ${attempt.error.message}`)] : []),
      ],
      tone: outcome === 'done' ? 'ok' : outcome === 'fail' ? 'bad' : outcome === 'in progress' ? undefined : 'warn',
    })
  }
  steps.sort((a, b) => a.at.localeCompare(b.at))
  if (request.state === 'dead') steps.push({ at: request.updatedAt, kind: 'now', title: 'Dead-lettered: no more attempts', lines: ['Replay it once the cause is fixed, or discard it with a reason.'], tone: 'bad' })
  if (request.state === 'discarded') steps.push({ at: request.updatedAt, kind: 'now', title: 'Discarded', lines: [request.discardReason ?? ''], tone: 'warn' })
  if (request.state === 'queued' && request.nextAttemptAt) steps.push({ at: request.nextAttemptAt, kind: 'now', title: 'Next attempt', lines: [`not before ${dateTime(request.nextAttemptAt)}`] })
  return steps
}

function facts(pairs: [string, string | HTMLElement | undefined][]): HTMLElement {
  return h('dl', { class: 'facts' }, pairs.filter(([, value]) => value !== undefined && value !== '').map(([name, value]) => [h('dt', {}, name), h('dd', {}, value!)]))
}

/** One request: its facts, the record's state now, the timeline, and replay/discard while it is dead. */
export const requestDetailView: View = (context) => {
  const id = decodeURIComponent(context.params.id ?? '')
  const body = h('div', {})
  const notice = h('p', { class: 'notice', role: 'status', hidden: true })
  fill(context.root, h('p', {}, h('a', { href: '#/requests' }, '← Requests')), h('h1', {}, 'Request ', h('code', {}, id)), notice, body)
  const say = (message: string) => {
    notice.textContent = message
    notice.hidden = false
    context.announce(message)
  }
  let lastJson = ''
  const refresh = async () => {
    try {
      const { request, record } = await api<RequestDetailResponse>('GET', `/requests/${encodeURIComponent(id)}`)
      if (context.gone) return
      const json = JSON.stringify({ request, record })
      if (json === lastJson) return
      lastJson = json
      const actions = request.state === 'dead'
        ? h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'primary', onclick: async (event) => {
            ;(event.currentTarget as HTMLButtonElement).disabled = true
            try {
              say(replayOutcome(await replayOne(id)))
            } catch (error) {
              say(error instanceof ApiError ? `Replay failed: ${error.message}` : String(error))
            }
            await refresh()
          } }, 'Replay'),
          discardControl(id, (message) => {
            say(message)
            void refresh()
          }))
        : null
      const steps = timeline(request)
      fill(
        body,
        facts([
          ['State', stateBadge(request.state)],
          ['Source', request.source],
          ['Record', request.recordType ? `${request.recordType}/${request.recordId}` : request.recordId],
          ['Mode', request.mode],
          ['Attempts', `${request.attempts} of ${request.maxAttempts}`],
          ['Events', String(request.eventCount)],
          ['Created', `${dateTime(request.createdAt)} (${ago(request.createdAt)})`],
          ['Updated', `${dateTime(request.updatedAt)} (${ago(request.updatedAt)})`],
          ['Leased by', request.leasedBy ? `${request.leasedBy} until ${dateTime(request.leaseExpiresAt)}` : undefined],
          ['Last error', request.lastError ? h('span', { class: 'error-text' }, `${request.lastError.code ?? 'error'}: ${request.lastError.message}`) : undefined],
          ['Discarded because', request.discardReason],
          ['Reply status', request.replyStatus === undefined ? undefined : String(request.replyStatus)],
          ['Record now', record ? `${record.state}${record.requestId ? ` (request ${record.requestId})` : ''}${record.dirty ? `, ${record.pendingEvents} more events waiting` : ''}` : undefined],
        ]),
        actions,
        h('h2', {}, 'Timeline'),
        h('ol', { class: 'timeline' }, steps.map((step) => h('li', { class: `step step-${step.kind} ${step.tone ? `tone-${step.tone}` : ''}` }, h('time', { datetime: step.at }, dateTime(step.at)), h('p', { class: 'step-title' }, step.title), step.lines.map((line) => h('p', {}, line))))),
      )
    } catch (error) {
      if (!context.gone) fill(body, errorBox(error instanceof ApiError && error.status === 404 ? 'No such request:' : 'Could not load the request:', error))
    }
  }
  context.poll(2_000, refresh)
}

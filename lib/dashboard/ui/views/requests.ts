import type { RequestPageResponse, RequestSummary } from '../../../admin/admin-api.ts'
import { api } from '../api.ts'
import { emptyState, field, fill, h, table } from '../dom.ts'
import { dateTime, isoFromLocalInput, localInputOf } from '../format.ts'
import { agoTime, errorBox, hashOf, stateBadge, type View } from '../view.ts'

const STATES = ['queued', 'leased', 'deferred', 'done', 'dead', 'discarded']
const PAGE = 50
const LIVE_EVERY_IN_MS = 2_000

function requestRow(request: RequestSummary, fresh: boolean): HTMLTableRowElement {
  return h(
    'tr',
    { class: fresh ? 'fresh' : undefined, 'data-request-id': request.id },
    h('td', {}, agoTime(request.updatedAt)),
    h('td', {}, request.source),
    h('td', {}, h('a', { href: `#/requests/${encodeURIComponent(request.id)}` }, request.recordType ? `${request.recordType}/${request.recordId}` : request.recordId)),
    h('td', {}, stateBadge(request.state)),
    h('td', {}, request.lastEvent ?? '–', request.eventCount > 1 ? ` (+${request.eventCount - 1})` : ''),
    h('td', { class: 'num' }, `${request.attempts}/${request.maxAttempts}`),
    h('td', {}, request.leasedBy ?? ''),
    h('td', { class: 'error-text' }, request.lastError ? `${request.lastError.code ?? ''} ${request.lastError.message}`.trim() : ''),
  )
}

/** Requests: filter by source, state, record id and time; the list follows new traffic live. */
export const requestsView: View = (context) => {
  const q = context.query
  const source = h('input', { type: 'text', value: q.get('source') ?? '', autocomplete: 'off', placeholder: 'any' })
  const state = h('select', {}, h('option', { value: '' }, 'any'), STATES.map((name) => h('option', { value: name, selected: q.get('state') === name }, name)))
  const record = h('input', { type: 'text', value: q.get('record') ?? '', autocomplete: 'off', placeholder: 'any' })
  const since = h('input', { type: 'datetime-local', step: 1, value: localInputOf(q.get('since')) })
  const until = h('input', { type: 'datetime-local', step: 1, value: localInputOf(q.get('until')) })
  const live = h('input', { type: 'checkbox', id: 'live', checked: !q.get('until') })
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter requests', onsubmit: (event) => {
      event.preventDefault()
      location.hash = hashOf('/requests', { source: source.value.trim(), state: state.value, record: record.value.trim(), since: isoFromLocalInput(since.value), until: isoFromLocalInput(until.value) })
    } },
    field('Source', source),
    field('State', state),
    field('Record id', record),
    field('Updated since', since),
    field('Updated before', until),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Apply'), h('a', { href: '#/requests', class: 'button' }, 'Clear')),
  )
  const updated = h('span', { class: 'muted' })
  const results = h('div', { 'aria-busy': 'true' })
  let limit = PAGE
  const more = h('button', { type: 'button', hidden: true, onclick: () => {
    limit = Math.min(1000, limit + PAGE)
    void refresh()
  } }, 'Show older requests')
  fill(context.root, h('h1', {}, 'Requests'), form, h('div', { class: 'toolbar' }, h('label', { for: 'live', class: 'check' }, live, ' Live (refresh every 2 s)'), updated), results, more)

  let seen: Set<string> | undefined
  let lastJson = ''
  async function refresh(): Promise<void> {
    try {
      const page = await api<RequestPageResponse>('GET', '/requests', { query: { source: q.get('source') ?? undefined, state: q.get('state') ?? undefined, record: q.get('record') ?? undefined, since: q.get('since') ?? undefined, until: q.get('until') ?? undefined, limit } })
      if (context.gone) return
      results.removeAttribute('aria-busy')
      updated.textContent = `Updated ${dateTime(new Date().toISOString()).slice(11)}`
      more.hidden = page.cursor === undefined
      const json = JSON.stringify(page.items)
      // Unchanged: keep the DOM (and the keyboard focus in it) as it is.
      if (json === lastJson) return
      lastJson = json
      const fresh = page.items.filter((item) => seen !== undefined && !seen.has(item.id))
      if (fresh.length > 0) context.announce(`${fresh.length} new request${fresh.length === 1 ? '' : 's'}`)
      seen = new Set([...(seen ?? []), ...page.items.map((item) => item.id)])
      if (page.items.length === 0) {
        const filtered = [...q.keys()].length > 0
        return fill(results, filtered
          ? emptyState('No request matches these filters.', 'Widen them, or ', h('a', { href: '#/requests' }, 'clear them'), '.')
          : emptyState('No request yet.', 'Point a SaaS webhook at ', h('code', {}, `${location.origin}/hooks/{source}`), ' or send a test one: ', h('code', {}, 'npx hookferry send <source> <payload.json>'), '. It appears here as it arrives.'))
      }
      const freshIds = new Set(fresh.map((item) => item.id))
      fill(results, table('Requests, newest first', ['Updated', 'Source', 'Record', 'State', 'Event', 'Attempts', 'Agent', 'Last error'], page.items.map((item) => requestRow(item, freshIds.has(item.id)))))
    } catch (error) {
      if (!context.gone) fill(results, errorBox('Could not load requests:', error))
    }
  }
  // Live: poll while the box is ticked; the first load happens either way.
  let loaded = false
  context.poll(LIVE_EVERY_IN_MS, async () => {
    if (loaded && !live.checked) return
    loaded = true
    await refresh()
  })
}

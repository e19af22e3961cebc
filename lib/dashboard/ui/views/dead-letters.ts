import type { RequestPageResponse, RequestSummary } from '../../../admin/admin-api.ts'
import type { DeadLetterGroupsResponse } from '../../../admin/dead-letter-groups.ts'
import { api, ApiError, eachLimited } from '../api.ts'
import { discardControl, replayOne, replayOutcome } from '../dead-letter-actions.ts'
import { emptyState, field, fill, h, table } from '../dom.ts'
import { count, dateTime, isoFromLocalInput, localInputOf } from '../format.ts'
import { agoTime, errorBox, hashOf, type View } from '../view.ts'

const NO_CODE = 'none'
/** A filtered replay handles at most this many dead letters per click (the page says when more are left). */
const REPLAY_MAX = 5_000
const REPLAY_CONCURRENCY = 4

const codeOf = (request: RequestSummary) => request.lastError?.code ?? NO_CODE

/** Every dead letter matching the filter (source and time on the server, error code here). */
async function matching(filter: { source?: string; code?: string; since?: string; until?: string }, max: number): Promise<{ items: RequestSummary[]; more: boolean }> {
  const items: RequestSummary[] = []
  let cursor: string | undefined
  do {
    const page = await api<RequestPageResponse>('GET', '/requests', { query: { state: 'dead', source: filter.source, since: filter.since, until: filter.until, limit: 1000, cursor } })
    items.push(...page.items.filter((item) => !filter.code || codeOf(item) === filter.code))
    cursor = page.cursor
  } while (cursor && items.length < max)
  return { items: items.slice(0, max), more: cursor !== undefined || items.length > max }
}

/** Dead letters: grouped by source and error code, then replayed (one, or the filtered set) or discarded. */
export const deadLettersView: View = (context) => {
  const q = context.query
  const filter = { source: q.get('source') ?? undefined, code: q.get('code') ?? undefined, since: q.get('since') ?? undefined, until: q.get('until') ?? undefined }
  const filtered = Object.values(filter).some((value) => value)
  const groupsBox = h('div', {})
  const listBox = h('div', {})
  const progressBox = h('div', { class: 'progress-box', hidden: true })
  const notice = h('p', { class: 'notice', role: 'status', hidden: true })
  const say = (message: string) => {
    notice.textContent = message
    notice.hidden = false
    context.announce(message)
  }

  const source = h('input', { type: 'text', value: filter.source ?? '', autocomplete: 'off', placeholder: 'any' })
  const code = h('input', { type: 'text', value: filter.code ?? '', autocomplete: 'off', placeholder: 'any' })
  const since = h('input', { type: 'datetime-local', step: 1, value: localInputOf(filter.since ?? null) })
  const until = h('input', { type: 'datetime-local', step: 1, value: localInputOf(filter.until ?? null) })
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter dead letters', onsubmit: (event) => {
      event.preventDefault()
      location.hash = hashOf('/dead-letters', { source: source.value.trim(), code: code.value.trim(), since: isoFromLocalInput(since.value), until: isoFromLocalInput(until.value) })
    } },
    field('Source', source),
    field('Error code', code),
    field('Died since', since),
    field('Died before', until),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Apply'), h('a', { href: '#/dead-letters', class: 'button' }, 'Clear')),
  )
  const replayAll = h('button', { type: 'button', class: 'primary', onclick: () => void replayFiltered() }, filtered ? 'Replay all matching' : 'Replay all dead letters')
  fill(context.root, h('h1', {}, 'Dead letters'), h('h2', {}, 'By source and error code'), groupsBox, h('h2', {}, filtered ? 'Matching dead letters' : 'All dead letters'), form, h('div', { class: 'toolbar' }, replayAll), progressBox, notice, listBox)

  async function replayFiltered(): Promise<void> {
    replayAll.disabled = true
    progressBox.hidden = false
    const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Replay progress' })
    const text = h('p', { 'aria-live': 'polite' }, 'Finding the dead letters to replay…')
    fill(progressBox, bar, text)
    const tally = { requeued: 0, folded: 0, skipped: 0, failed: 0 }
    try {
      const { items, more } = await matching(filter, REPLAY_MAX)
      bar.max = Math.max(1, items.length)
      let done = 0
      await eachLimited(items, REPLAY_CONCURRENCY, async (item) => {
        try {
          tally[(await replayOne(item.id)).status] += 1
        } catch (error) {
          // 409: replayed or discarded meanwhile (by someone else, or an earlier click).
          if (error instanceof ApiError && (error.status === 409 || error.status === 404)) tally.skipped += 1
          else tally.failed += 1
        }
      }, () => {
        done += 1
        bar.value = done
        text.textContent = `Replaying ${done} of ${items.length}…`
      })
      const summary = `Replayed ${tally.requeued} of ${items.length} dead letters; folded ${tally.folded} into waiting work, skipped ${tally.skipped} (no longer dead), failed ${tally.failed}.${more ? ` More match: replay again for the next ${REPLAY_MAX}.` : ''}`
      text.textContent = summary
      say(summary)
    } catch (error) {
      fill(progressBox, errorBox('The replay stopped:', error))
    } finally {
      replayAll.disabled = false
      await refresh(true)
    }
  }

  let lastJson = ''
  async function refresh(force = false): Promise<void> {
    try {
      const [groups, list] = await Promise.all([api<DeadLetterGroupsResponse>('GET', '/dead-letters'), matching(filter, 200)])
      if (context.gone) return
      const json = JSON.stringify([groups, list])
      if (json === lastJson && !force) return
      lastJson = json
      replayAll.hidden = list.items.length === 0
      fill(groupsBox, groups.groups.length === 0
        ? emptyState('No dead letters.', 'Requests land here when the agent fails them for good (or runs out of attempts). Nothing to do.')
        : table('Dead letters by source and error code', ['Source', 'Error code', 'Count', 'First seen', 'Last seen', 'Example', ''], groups.groups.map((group) =>
          h('tr', {},
            h('td', {}, group.source),
            h('td', {}, h('code', {}, group.code)),
            h('td', { class: 'num' }, count(group.count)),
            h('td', {}, dateTime(group.firstSeen)),
            h('td', {}, agoTime(group.lastSeen)),
            h('td', { class: 'error-text' }, group.message ?? ''),
            h('td', {}, h('a', { class: 'button', href: hashOf('/dead-letters', { source: group.source, code: group.code }), 'aria-label': `Show the ${group.count} dead letters of ${group.source} with ${group.code}` }, 'Show')),
          ))))
      fill(listBox, list.items.length === 0
        ? emptyState(filtered ? 'No dead letter matches these filters.' : 'No dead letters.', filtered ? h('a', { href: '#/dead-letters' }, 'Clear the filters') : '')
        : table('Dead letters, newest first', ['Died', 'Source', 'Record', 'Error', 'Attempts', 'Actions'], list.items.map((item) => {
          const replay = h('button', { type: 'button', onclick: async () => {
            replay.disabled = true
            try {
              say(`${item.recordId}: ${replayOutcome(await replayOne(item.id))}`)
            } catch (error) {
              say(`${item.recordId}: replay failed: ${error instanceof ApiError ? error.message : String(error)}`)
            }
            await refresh(true)
          } }, 'Replay')
          return h('tr', { 'data-request-id': item.id },
            h('td', {}, agoTime(item.updatedAt)),
            h('td', {}, item.source),
            h('td', {}, h('a', { href: `#/requests/${encodeURIComponent(item.id)}` }, item.recordId)),
            h('td', { class: 'error-text' }, `${codeOf(item)}: ${item.lastError?.message ?? ''}`),
            h('td', { class: 'num' }, `${item.attempts}/${item.maxAttempts}`),
            h('td', { class: 'row-actions' }, replay, discardControl(item.id, (message) => {
              say(`${item.recordId}: ${message}`)
              void refresh(true)
            })),
          )
        })),
      list.more ? h('p', { class: 'muted' }, 'Showing the newest 200.') : null)
    } catch (error) {
      if (!context.gone) fill(listBox, errorBox('Could not load dead letters:', error))
    }
  }
  context.poll(5_000, () => refresh())
}

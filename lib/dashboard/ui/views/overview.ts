import type { OverviewResponse } from '../../../admin/overview.ts'
import type { SyncsResponse } from '../../../admin/sync-api.ts'
import { api } from '../api.ts'
import { minuteChart } from '../chart.ts'
import { fill, h } from '../dom.ts'
import { count, duration } from '../format.ts'
import { errorBox, type View } from '../view.ts'

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0)

/** One figure with where to look next. */
function card(title: string, value: string, detail: string, href: string, tone: 'ok' | 'warn' | 'bad' = 'ok', chart?: SVGElement): HTMLElement {
  return h('li', { class: `card tone-${tone}` }, h('a', { href, class: 'card-link' }, h('h2', {}, title), h('p', { class: 'figure' }, value), h('p', { class: 'detail' }, detail), chart ? [chart, h('p', { class: 'axis-labels', 'aria-hidden': 'true' }, h('span', {}, '60 min ago'), h('span', {}, 'now'))] : null))
}

/** Overview: the last hour's traffic, and whatever needs a person (backlog, dead letters, silent agents, stalled syncs). */
export const overviewView: View = (context) => {
  const body = h('div', {})
  fill(context.root, h('h1', {}, 'Overview'), body)
  // Each refresh scans the hour's requests in the ledger: every 10 s, not faster.
  context.poll(10_000, async () => {
    try {
      const [overview, syncs] = await Promise.all([
        api<OverviewResponse>('GET', '/overview'),
        api<SyncsResponse>('GET', '/syncs').catch(() => undefined),
      ])
      if (context.gone) return
      const webhooks = sum(overview.webhooksPerMinute)
      const deliveries = sum(overview.deliveriesPerMinute)
      const failures = sum(overview.failuresPerMinute)
      const { backlog, agents } = overview
      const up = agents.total - agents.silent
      const stalled = syncs?.jobs.filter((job) => job.stalled).length ?? 0
      const cards = [
        card('Webhooks', `${count(webhooks)}`, `in the last hour · peak ${Math.max(...overview.webhooksPerMinute)}/min`, '#/requests', 'ok',
          minuteChart([{ values: overview.webhooksPerMinute, className: 'bar-webhooks' }], `Webhooks per minute over the last hour: ${webhooks} in all, peak ${Math.max(...overview.webhooksPerMinute)} a minute`)),
        card('Deliveries', `${count(deliveries)}`, `delivered in the last hour · ${count(failures)} failed attempts`, '#/requests?state=done', failures > 0 ? 'warn' : 'ok',
          minuteChart([{ values: overview.deliveriesPerMinute, className: 'bar-deliveries' }, { values: overview.failuresPerMinute, className: 'bar-failures' }], `Deliveries per minute over the last hour: ${deliveries} delivered, ${failures} failed attempts`)),
        card('Backlog', `${count(backlog.queued)} waiting`, backlog.queued === 0 ? 'nothing waits for an agent' : `oldest waiting ${duration(backlog.oldestWaitingAgeSeconds)} · ${backlog.retrying} waiting for a retry`, '#/requests?state=queued', backlog.oldestWaitingAgeSeconds > 600 ? 'bad' : backlog.queued > 0 ? 'warn' : 'ok'),
        card('Dead letters', count(overview.deadLetters), overview.deadLetters === 0 ? 'nothing failed for good' : 'failed for good: replay or discard them', '#/dead-letters', overview.deadLetters > 0 ? 'bad' : 'ok'),
        card('Agents', agents.total === 0 ? 'none yet' : `${up} up · ${agents.silent} silent`, agents.total === 0 ? 'start one: hookferry agent --config agent.yaml' : `silent: no heartbeat for over ${duration(agents.silentAfterSeconds)}`, '#/agents', agents.total === 0 || agents.silent > 0 ? 'bad' : 'ok'),
        card('Syncs', syncs ? (syncs.jobs.length === 0 ? 'none' : `${stalled} behind schedule`) : 'unavailable', syncs ? (syncs.jobs.length === 0 ? 'no sync job is configured' : `${syncs.jobs.length} scheduled jobs`) : 'this server has no sync API', '#/syncs', stalled > 0 ? 'bad' : 'ok'),
      ]
      fill(body, h('ul', { class: 'cards' }, cards), overview.truncated ? h('p', { class: 'notice' }, 'The ledger holds more requests than one scan reads: these figures are lower bounds.') : null)
    } catch (error) {
      if (!context.gone) fill(body, errorBox('Could not load the overview:', error))
    }
  })
}

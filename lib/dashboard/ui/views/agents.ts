import type { AgentsResponse } from '../../../admin/admin-api.ts'
import type { OverviewResponse } from '../../../admin/overview.ts'
import { api } from '../api.ts'
import { emptyState, fill, h, table } from '../dom.ts'
import { count, dateTime, duration } from '../format.ts'
import { errorBox, type View } from '../view.ts'

const OVERVIEW_EVERY_IN_MS = 30_000

/** Agents: heartbeat age, version, in flight and deliveries in the last hour; a silent agent is marked in words, colour and an icon. */
export const agentsView: View = (context) => {
  const summary = h('div', {})
  const body = h('div', {})
  fill(context.root, h('h1', {}, 'Agents'), summary, body)
  let lastJson = ''
  // Heartbeats every 2 s; the hour's deliveries (a ledger scan) every 30 s is plenty.
  let overview: OverviewResponse | undefined
  let overviewAt = 0
  context.poll(2_000, async () => {
    try {
      const stale = Date.now() - overviewAt > OVERVIEW_EVERY_IN_MS
      const [agents, fresh] = await Promise.all([api<AgentsResponse>('GET', '/agents'), stale || !overview ? api<OverviewResponse>('GET', '/overview') : Promise.resolve(overview)])
      if (fresh !== overview) overviewAt = Date.now()
      overview = fresh
      if (context.gone) return
      const threshold = fresh.agents.silentAfterSeconds
      const view = agents.agents.map((agent) => ({ ...agent, silent: agent.silentSeconds > threshold, delivered: fresh.deliveriesByAgent[agent.agentId] ?? 0 }))
      const silent = view.filter((agent) => agent.silent)
      const json = JSON.stringify([view, agents.backlog])
      if (json === lastJson) return
      lastJson = json
      const { backlog } = agents
      fill(summary,
        silent.length > 0
          ? h('div', { class: 'alert-silent', role: 'alert' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), h('strong', {}, `${silent.length} agent${silent.length === 1 ? ' is' : 's are'} silent`), `: no heartbeat for over ${duration(threshold)} (${silent.map((agent) => agent.agentId).join(', ')}). Work waits until an agent polls: check the agent's host, its logs, and that it reaches this server.`)
          : null,
        h('p', {}, `Backlog: ${count(backlog.queued)} waiting${backlog.queued > 0 ? `, the oldest for ${duration(backlog.oldestWaitingAgeSeconds)}` : ''}${backlog.retrying > 0 ? `, ${backlog.retrying} waiting for a retry` : ''}. An agent is silent after ${duration(threshold)} without a heartbeat (alerts.agentSilentSeconds).`))
      if (view.length === 0) {
        return fill(body, emptyState('No agent has ever connected.', 'Start one next to your systems: ', h('code', {}, 'hookferry agent --config agent.yaml'), '. It appears here with its first heartbeat.'))
      }
      fill(body, table('Agents', ['Status', 'Agent', 'Host', 'Version', 'Last heartbeat', 'In flight', 'Delivered (last hour)'], view.map((agent) =>
        h('tr', { class: agent.silent ? 'row-silent' : undefined, 'data-agent-id': agent.agentId },
          h('td', {}, agent.silent ? h('span', { class: 'badge badge-silent' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), `Silent for ${duration(agent.silentSeconds)}`) : h('span', { class: 'badge badge-up' }, h('span', { 'aria-hidden': 'true' }, '● '), 'Up')),
          h('td', {}, agent.agentId),
          h('td', {}, agent.hostname ?? '–'),
          h('td', {}, agent.version),
          h('td', {}, h('time', { datetime: agent.lastHeartbeatAt, title: dateTime(agent.lastHeartbeatAt) }, `${duration(agent.silentSeconds)} ago`)),
          h('td', { class: 'num' }, count(agent.inFlight)),
          h('td', { class: 'num' }, count(agent.delivered)),
        ))))
    } catch (error) {
      if (!context.gone) fill(body, errorBox('Could not load agents:', error))
    }
  })
}

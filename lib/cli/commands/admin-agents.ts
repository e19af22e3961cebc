import type { Command } from 'commander'
import type { AgentsResponse } from '../../admin/admin-api.ts'
import { adminClientFor, printJson, printLine, processIo, withConnectionOptions, type CliIo, type ConnectionOptions } from './admin-client.ts'
import { formatAgo, formatDuration, renderTable } from './admin-table.ts'

/** The output of `hookferry agents`: one line per agent, then the backlog. */
export function renderAgents({ agents, backlog, serverTime }: AgentsResponse): string {
  const now = new Date(serverTime)
  const table =
    agents.length === 0
      ? 'no agent has ever sent a heartbeat (start one with "hookferry agent")'
      : renderTable(agents, [
          { header: 'agent', value: (agent) => agent.agentId },
          { header: 'version', value: (agent) => agent.version },
          { header: 'host', value: (agent) => agent.hostname ?? '' },
          { header: 'in flight', value: (agent) => String(agent.inFlight), align: 'right' },
          { header: 'last heartbeat', value: (agent) => formatAgo(agent.lastHeartbeatAt, now) },
        ])
  // A far side an agent found down (its circuit breaker is open): the work for it is being held.
  const down = agents.flatMap((agent) =>
    (agent.breakers ?? []).map((breaker) => `${agent.agentId}: ${breaker.name} is DOWN${breaker.since ? ` since ${formatAgo(breaker.since, now)}` : ''}, ${breaker.held} request(s) held without spending attempts${breaker.lastError ? ` (${breaker.lastError})` : ''}`),
  )
  const outages = down.length > 0 ? `\n\n${down.join('\n')}` : ''
  const more = backlog.truncated ? '+' : ''
  const retrying = backlog.retrying > 0 ? ` (${backlog.retrying} waiting for a retry time)` : ''
  const oldest = backlog.oldestWaitingRequestId ? `, oldest waiting ${formatDuration(backlog.oldestWaitingAgeSeconds)} (request ${backlog.oldestWaitingRequestId})` : ''
  return `${table}${outages}\n\nbacklog: ${backlog.queued}${more} queued${retrying}${oldest}`
}

/** `hookferry agents`. */
export function registerAdminAgentCommands(program: Command, io: CliIo = processIo): void {
  withConnectionOptions(program.command('agents').description('Show each agent\'s last heartbeat, version and in-flight count, and the backlog.')).action(
    async (options: ConnectionOptions) => {
      const overview = await adminClientFor(options, io).get<AgentsResponse>('/admin/v1/agents')
      if (options.json) printJson(io, overview)
      else printLine(io, renderAgents(overview))
    },
  )
}

import { describe, expect, it } from 'vitest'
import type { AgentsResponse, RequestDetailResponse, RequestSummary } from '../../../lib/admin/admin-api.ts'
import { parseTimeOption } from '../../../lib/cli/commands/admin-client.ts'
import { renderAgents } from '../../../lib/cli/commands/admin-agents.ts'
import { renderDeadLetterTable, renderProgressBar, renderReplaySummary } from '../../../lib/cli/commands/admin-dead-letters.ts'
import { renderRequestDetail, renderRequestTable } from '../../../lib/cli/commands/admin-requests.ts'
import { formatDuration, renderPairs, renderTable } from '../../../lib/cli/commands/admin-table.ts'

const NOW = new Date('2026-03-01T12:00:00.000Z')
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString()

const summary = (overrides: Partial<RequestSummary>): RequestSummary => ({
  id: 'req-1',
  source: 'shop',
  recordId: '42',
  state: 'queued',
  mode: 'async',
  eventCount: 1,
  attempts: 0,
  maxAttempts: 10,
  createdAt: ago(60),
  updatedAt: ago(60),
  ...overrides,
})

describe('admin output: tables', () => {
  it('aligns columns under upper-case headers, numbers to the right, without trailing spaces', () => {
    const table = renderTable(
      [{ name: 'a', n: 5 }, { name: 'longer', n: 100 }],
      [{ header: 'name', value: (row) => row.name }, { header: 'n', value: (row) => String(row.n), align: 'right' }],
    )
    expect(table).toBe(['NAME      N', 'a         5', 'longer  100'].join('\n'))
  })

  it('keeps a multi-line value on one line so rows stay aligned', () => {
    expect(renderTable([{ text: 'first\nsecond' }], [{ header: 'text', value: (row) => row.text }])).toBe('TEXT\nfirst second')
  })

  it('aligns key/value pairs and leaves out empty values', () => {
    expect(renderPairs([['state', 'dead'], ['last error', 'boom'], ['reply', undefined]])).toBe('state       dead\nlast error  boom')
  })

  it('formats durations with at most two units', () => {
    expect([0, 45, 60, 725, 3600, 11_400, 190_000].map(formatDuration)).toEqual(['0s', '45s', '1m', '12m 5s', '1h', '3h 10m', '2d 4h'])
  })

  it('lists requests with record, state, attempts, age and the last error', () => {
    const table = renderRequestTable(
      [
        summary({ id: 'req-1', recordType: 'customer', state: 'dead', attempts: 3, maxAttempts: 3, updatedAt: ago(300), lastError: { code: 'sink.unavailable', message: 'connection refused' } }),
        summary({ id: 'req-22', recordId: '7', eventCount: 12 }),
      ],
      NOW,
    )
    expect(table.split('\n')).toEqual([
      'ID      SOURCE  RECORD       STATE   ATTEMPTS  EVENTS  UPDATED  LAST ERROR',
      'req-1   shop    customer/42  dead         3/3       1  5m ago   sink.unavailable: connection refused',
      'req-22  shop    7            queued      0/10      12  1m ago',
    ])
  })

  it('says so when no request matches', () => {
    expect(renderRequestTable([], NOW)).toBe('no requests match')
    expect(renderDeadLetterTable([], NOW)).toBe('no dead letters match')
  })

  it('shows one request with its events and attempts', () => {
    const detail: RequestDetailResponse = {
      request: {
        ...summary({ state: 'dead', attempts: 1, maxAttempts: 1, lastError: { code: 'sink.unavailable', message: 'connection refused' } }),
        recordKey: 'shop##42',
        events: [{ deliveryId: 'evt_1', event: 'customer.updated', receivedAt: ago(60) }],
        attemptHistory: [{ attempt: 1, agentId: 'onprem-1', leaseId: 'l1', startedAt: ago(50), endedAt: ago(48), outcome: 'fail', durationMs: 2300, error: { code: 'sink.unavailable', message: 'connection refused' } }],
        hasPayload: false,
      },
      record: { state: 'idle', requestId: 'req-1', dirty: false, updatedAt: ago(48), pendingEvents: 0 },
    }
    const text = renderRequestDetail(detail, NOW)
    expect(text).toContain('request     req-1')
    expect(text).toContain('record now  idle (nothing waiting or running)')
    expect(text).toContain('events (1)\nRECEIVED')
    expect(renderRequestDetail({ ...detail, record: { state: 'processing', requestId: 'req-2', dirty: true, updatedAt: ago(1), pendingEvents: 2 } }, NOW)).toContain(
      'record now  processing: request req-2, then 2 newer event(s)',
    )
    expect(text).toMatch(/#\s+AGENT\s+STARTED\s+DURATION\s+OUTCOME\s+ERROR\n1\s+onprem-1\s+\S+\s+2\.3s\s+fail\s+sink\.unavailable: connection refused/)
  })
})

describe('admin output: agents and replay', () => {
  it('shows each agent and the backlog', () => {
    const overview: AgentsResponse = {
      serverTime: NOW.toISOString(),
      agents: [{ agentId: 'onprem-1', version: '0.1.0', hostname: 'erp-gw', inFlight: 2, lastHeartbeatAt: ago(3), silentSeconds: 3 }],
      backlog: { queued: 12, retrying: 3, oldestWaitingAgeSeconds: 250, oldestWaitingRequestId: 'req-9', oldestWaitingSince: ago(250), truncated: false },
    }
    expect(renderAgents(overview).split('\n')).toEqual([
      'AGENT     VERSION  HOST    IN FLIGHT  LAST HEARTBEAT',
      'onprem-1  0.1.0    erp-gw          2  3s ago',
      '',
      'backlog: 12 queued (3 waiting for a retry time), oldest waiting 4m 10s (request req-9)',
    ])
  })

  it('names each far side an agent found down, and how much it holds', () => {
    const overview: AgentsResponse = {
      serverTime: NOW.toISOString(),
      agents: [{ agentId: 'onprem-1', version: '0.1.0', inFlight: 3, lastHeartbeatAt: ago(3), silentSeconds: 3, breakers: [{ name: 'the sink of source erp', state: 'open', since: ago(252), held: 312, lastError: 'ECONNREFUSED' }] }],
      backlog: { queued: 300, retrying: 0, oldestWaitingAgeSeconds: 250, truncated: false },
    }
    expect(renderAgents(overview).split('\n')).toContain('onprem-1: the sink of source erp is DOWN since 4m 12s ago, 312 request(s) held without spending attempts (ECONNREFUSED)')
  })

  it('says when no agent has ever sent a heartbeat', () => {
    const text = renderAgents({ serverTime: NOW.toISOString(), agents: [], backlog: { queued: 0, retrying: 0, oldestWaitingAgeSeconds: 0, truncated: false } })
    expect(text).toBe('no agent has ever sent a heartbeat (start one with "hookferry agent")\n\nbacklog: 0 queued')
  })

  it('summarises a bulk replay in one line', () => {
    expect(renderReplaySummary({ replayed: 98, folded: 2, skipped: 1, failed: 0 })).toBe('replayed 98 of 101 dead letters; folded 2 into waiting work, skipped 1 (no longer dead), failed 0')
    expect(renderReplaySummary({ replayed: 0, folded: 0, skipped: 0, failed: 0 })).toBe('no dead letters match: nothing replayed')
  })

  it('draws a progress bar that never overflows', () => {
    expect(renderProgressBar(15, 30)).toBe(`replaying [${'#'.repeat(15)}${'-'.repeat(15)}] 15/30`)
    expect(renderProgressBar(40, 30)).toBe(`replaying [${'#'.repeat(30)}] 40/40`)
  })
})

describe('admin output: time options', () => {
  it('reads a span back from now or an ISO time', () => {
    expect(parseTimeOption('2h', NOW)).toBe('2026-03-01T10:00:00.000Z')
    expect(parseTimeOption('30m', NOW)).toBe('2026-03-01T11:30:00.000Z')
    expect(parseTimeOption('2026-02-01T00:00:00+01:00', NOW)).toBe('2026-01-31T23:00:00.000Z')
  })

  it('rejects anything else with a message that shows the accepted forms', () => {
    expect(() => parseTimeOption('yesterday', NOW)).toThrow(/ISO time .* or a span back from now/)
  })
})

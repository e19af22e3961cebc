import { afterEach, describe, expect, it } from 'vitest'
import { groupDeadLetters } from '../../../lib/admin/dead-letter-groups.ts'
import { describeOverview, OVERVIEW_MINUTES } from '../../../lib/admin/overview.ts'
import { ackLeases } from '../../../lib/relay/agent-service.ts'
import { AGENT, createRelayFixture, testConfig, type RelayFixture } from './relay-fixture.ts'

// Near the real time (the SQLite ledger expires rows by the real clock), on a whole minute.
const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 7_200_000
const at = (minutes: number, seconds = 0) => new Date(T0 + minutes * 60_000 + seconds * 1000)

let fixture: RelayFixture
afterEach(() => fixture?.close())

describe('admin: overview', () => {
  it('counts webhooks, deliveries and failures per minute over the last hour, oldest minute first', async () => {
    fixture = createRelayFixture()
    // Two hours before "now": outside the window.
    fixture.setNow(at(0))
    await fixture.ingest('shop', 'old')
    await fixture.ack(await fixture.pull(1), 'done')
    // 30 and 10 minutes before "now".
    fixture.setNow(at(90, 5))
    await fixture.ingest('shop', 'a', 'b')
    await fixture.ack(await fixture.pull(2), 'done')
    fixture.setNow(at(110, 30))
    await fixture.deadLetter('crm', 'c')

    fixture.setNow(at(120, 10))
    const overview = await describeOverview(fixture.deps)
    expect(overview.webhooksPerMinute).toHaveLength(OVERVIEW_MINUTES)
    expect(overview.windowStart).toBe(at(61).toISOString())
    const minute = (time: Date) => (time.getTime() - at(61).getTime()) / 60_000
    expect(overview.webhooksPerMinute[minute(at(90))]).toBe(2)
    expect(overview.webhooksPerMinute[minute(at(110))]).toBe(1)
    expect(overview.webhooksPerMinute.reduce((sum, count) => sum + count, 0)).toBe(3)
    expect(overview.deliveriesPerMinute[minute(at(90))]).toBe(2)
    expect(overview.deliveriesPerMinute.reduce((sum, count) => sum + count, 0)).toBe(2)
    expect(overview.failuresPerMinute[minute(at(110))]).toBe(1)
    expect(overview.deliveriesByAgent).toEqual({ [AGENT]: 2 })
    expect(overview).toMatchObject({ deadLetters: 1, backlog: { queued: 0 }, truncated: false })
  })

  it('counts the agents silent for longer than alerts.agentSilentSeconds', async () => {
    fixture = createRelayFixture(testConfig({ alerts: { agentSilentSeconds: 60 } }))
    await fixture.deps.ledger.recordHeartbeat({ agentId: 'a', version: '1', inFlight: 0, lastHeartbeatAt: at(0).toISOString() })
    await fixture.deps.ledger.recordHeartbeat({ agentId: 'b', version: '1', inFlight: 2, lastHeartbeatAt: at(1, 50).toISOString() })
    fixture.setNow(at(2, 30))
    expect((await describeOverview(fixture.deps)).agents).toEqual({ total: 2, silent: 1, silentAfterSeconds: 60 })
  })
})

describe('admin: dead letters grouped', () => {
  it('groups by source and last error code with first and last seen, largest group first', async () => {
    fixture = createRelayFixture()
    fixture.setNow(at(0))
    await fixture.deadLetter('shop', 'a')
    fixture.setNow(at(5))
    await fixture.deadLetter('shop', 'b')
    await fixture.deadLetter('crm', 'c')
    fixture.setNow(at(7))
    await fixture.ingest('shop', 'd')
    const [lease] = await fixture.pull(1)
    await ackLeases(fixture.deps, AGENT, [{ lease: lease!.lease, outcome: 'fail', error: { code: 'transform.failed', message: 'no such field' } }])
    fixture.setNow(at(8))
    await fixture.ingest('shop', 'e')
    const [uncoded] = await fixture.pull(1)
    await ackLeases(fixture.deps, AGENT, [{ lease: uncoded!.lease, outcome: 'fail', error: { message: 'it broke' } }])

    const grouped = await groupDeadLetters(fixture.deps)
    expect(grouped).toMatchObject({ total: 5, truncated: false })
    expect(grouped.groups).toEqual([
      { source: 'shop', code: 'sink.unavailable', count: 2, firstSeen: at(0).toISOString(), lastSeen: at(5).toISOString(), message: 'connection refused' },
      { source: 'shop', code: 'none', count: 1, firstSeen: at(8).toISOString(), lastSeen: at(8).toISOString(), message: 'it broke' },
      { source: 'shop', code: 'transform.failed', count: 1, firstSeen: at(7).toISOString(), lastSeen: at(7).toISOString(), message: 'no such field' },
      { source: 'crm', code: 'sink.unavailable', count: 1, firstSeen: at(5).toISOString(), lastSeen: at(5).toISOString(), message: 'connection refused' },
    ])
    expect((await groupDeadLetters(fixture.deps, 'crm')).groups.map((group) => group.source)).toEqual(['crm'])
  })
})

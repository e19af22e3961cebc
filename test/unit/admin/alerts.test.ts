import { afterEach, describe, expect, it } from 'vitest'
import { checkAlerts, SILENT_SECONDS_WHEN_NO_AGENT, type AlertMemory } from '../../../lib/admin/alerts.ts'
import { createRelayFixture, testConfig, type RelayFixture } from './relay-fixture.ts'

const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000
const at = (seconds: number) => new Date(T0 + seconds * 1000)
const heartbeat = (fixture: RelayFixture, seconds: number, agentId = 'onprem-1') =>
  fixture.deps.ledger.recordHeartbeat({ agentId, version: '0.1.0', inFlight: 0, lastHeartbeatAt: at(seconds).toISOString() })

let fixture: RelayFixture
afterEach(() => fixture?.close())

/** Runs the check at `seconds` and returns what it logged (warn and info lines only). */
async function checkAt(memory: AlertMemory, seconds: number) {
  fixture.setNow(at(seconds))
  const before = fixture.logs.length
  const report = await checkAlerts(fixture.deps, memory)
  return { report, logged: fixture.logs.slice(before).filter((line) => line.level === 'warn' || line.level === 'info') }
}

describe('alerts: agent silence', () => {
  it('treats "no agent has ever sent a heartbeat" as silent, and says so', async () => {
    fixture = createRelayFixture()
    const { report, logged } = await checkAt({}, 0)
    expect(report).toMatchObject({ agentSilent: true, agentSilentSeconds: SILENT_SECONDS_WHEN_NO_AGENT })
    expect(report).not.toHaveProperty('lastHeartbeatAt')
    expect(logged).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringContaining('no hookferry agent has ever sent a heartbeat') })])
    expect(fixture.gauges.get('AgentSilentSeconds')).toBe(SILENT_SECONDS_WHEN_NO_AGENT)
  })

  it('measures silence from the newest heartbeat of any agent', async () => {
    fixture = createRelayFixture()
    await heartbeat(fixture, 0, 'a1')
    await heartbeat(fixture, 50, 'a2')
    const { report } = await checkAt({}, 80)
    expect(report).toMatchObject({ agentSilentSeconds: 30, lastHeartbeatAt: at(50).toISOString(), agentSilent: false })
  })

  it('emits AgentSilentSeconds on every run, firing or not', async () => {
    fixture = createRelayFixture()
    const memory: AlertMemory = {}
    await heartbeat(fixture, 0)
    for (const seconds of [10, 20, 500, 510]) {
      fixture.gauges.delete('AgentSilentSeconds')
      await checkAt(memory, seconds)
      expect(fixture.gauges.get('AgentSilentSeconds')).toBe(seconds)
    }
  })

  it('warns once when the agents fall silent past the threshold, and logs once when heartbeats return', async () => {
    fixture = createRelayFixture(testConfig({ alerts: { agentSilentSeconds: 120 } }))
    const memory: AlertMemory = {}
    await heartbeat(fixture, 0)
    expect((await checkAt(memory, 120)).logged).toEqual([])
    const fired = await checkAt(memory, 121)
    expect(fired.report.agentSilent).toBe(true)
    expect(fired.logged).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringContaining('for 121 s (threshold 120 s)') })])
    expect((await checkAt(memory, 180)).logged).toEqual([])

    await heartbeat(fixture, 190)
    const cleared = await checkAt(memory, 200)
    expect(cleared.report.agentSilent).toBe(false)
    expect(cleared.logged).toEqual([expect.objectContaining({ level: 'info', message: expect.stringContaining('cleared') })])
    expect((await checkAt(memory, 210)).logged).toEqual([])
  })
})

describe('alerts: backlog age', () => {
  it('emits the age of the oldest waiting request, warns past the threshold and clears once it is picked up', async () => {
    fixture = createRelayFixture(testConfig({ alerts: { agentSilentSeconds: 10_000, backlogAgeSeconds: 600 } }))
    const memory: AlertMemory = {}
    await heartbeat(fixture, 0)
    fixture.setNow(at(0))
    await fixture.ingest('shop', 'a')

    const young = await checkAt(memory, 300)
    expect(young.report).toMatchObject({ oldestWaitingRequestAgeSeconds: 300, backlogOld: false })
    expect(fixture.gauges.get('OldestWaitingRequestAgeSeconds')).toBe(300)

    const old = await checkAt(memory, 601)
    expect(old.report.backlogOld).toBe(true)
    expect(old.logged).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringContaining('waited 601 s (threshold 600 s)') })])

    await fixture.ack(await fixture.pull(1), 'done')
    const drained = await checkAt(memory, 620)
    expect(drained.report).toMatchObject({ oldestWaitingRequestAgeSeconds: 0, backlogOld: false })
    expect(drained.logged).toEqual([expect.objectContaining({ level: 'info', message: expect.stringContaining('backlog alert cleared') })])
    expect(fixture.gauges.get('OldestWaitingRequestAgeSeconds')).toBe(0)
  })
})

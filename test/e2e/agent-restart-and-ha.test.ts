import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { startFakeSaas, type FakeSaas } from '../support/fake-saas.ts'
import { startFakeSink, type FakeSink } from '../support/fake-sink.ts'
import type { HookferryProcess } from '../support/processes.ts'
import { requestIdsOf, startRelay, webhookSource, type AgentSetup } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/** Invariants 3 and 4 across agent restarts and several agents: nothing lost, nothing regressed, one in flight per record. */
const scope = useTestScope()

function agentSetup(saas: FakeSaas, sink: FakeSink, extra: Partial<AgentSetup> = {}): AgentSetup {
  return {
    concurrency: 4,
    // A long lease: what brings the work back fast must be the restart, not the lease expiring.
    cloud: { leaseSeconds: 60 },
    sources: {
      crm: {
        fetch: { type: 'http', url: saas.recordUrl('customers'), auth: { type: 'bearer', token: '${SAAS_TOKEN}' }, version: 'version' },
        deliver: { type: 'http', url: `${sink.url}/customers/{id}`, method: 'PUT' },
        loopPrevention: { enabled: false },
      },
    },
    env: { SAAS_TOKEN: saas.token },
    ...extra,
  }
}

/** Per record: accepted versions never go down, the last is the SaaS's latest, and no two live deliveries overlapped. */
function expectLatestOnceInOrder(saas: FakeSaas, sink: FakeSink, ids: string[]): void {
  for (const id of ids) {
    const versions = sink.accepted(id).map((delivery) => Number(delivery.version))
    for (let i = 1; i < versions.length; i++) expect(versions[i]!, `${id} regressed: ${versions.join(',')}`).toBeGreaterThanOrEqual(versions[i - 1]!)
    expect(versions.at(-1), id).toBe(saas.record('customers', id)!.version)
    const live = sink.received.filter((delivery) => delivery.recordId === id && delivery.answered)
    for (let i = 1; i < live.length; i++) expect(live[i]!.at, `${id} was in flight twice`).toBeGreaterThanOrEqual(live[i - 1]!.answeredAt!)
  }
}

describe('an agent killed with SIGKILL and restarted at once', () => {
  it('gets the work its previous process held back within 2 s of the restart, not after the lease', { timeout: 40_000 }, async () => {
    const saas = await startFakeSaas(scope)
    const sink = await startFakeSink(scope)
    const ids = ['cus_r1', 'cus_r2', 'cus_r3']
    for (const id of ids) saas.change('customers', id, { name: id })
    sink.delayMs = 30_000
    const relay = await startRelay(scope, { sources: { crm: webhookSource() } })
    const first = await relay.startAgent(agentSetup(saas, sink), 'agent (to be killed)')
    const requestIds: string[] = []
    for (const id of ids) requestIds.push(...requestIdsOf(await relay.recordChanged('crm', id)))
    await eventually('3 deliveries in flight', () => sink.received.length === 3)
    await first.kill()

    sink.delayMs = 0
    const second = await relay.startAgent(agentSetup(saas, sink), 'agent (restarted)')
    const restartedAt = Date.now()
    await eventually('every record delivered', () => ids.every((id) => sink.accepted(id).length === 1), { timeoutMs: 10_000 })
    expect(Date.now() - restartedAt).toBeLessThan(2_000)
    for (const requestId of requestIds) {
      const request = await relay.requestIn(requestId, 'done')
      expect(request.attemptHistory.map((attempt) => attempt.outcome)).toEqual(['lease_expired', 'done'])
    }
    expect(second.logsWith('request done')).toHaveLength(3)
    // The same key on the redelivery: harmless at the destination.
    for (const id of ids) expect(sink.accepted(id)[0]!.idempotencyKey).toBe(sink.received.find((delivery) => delivery.recordId === id)!.idempotencyKey)
  })
})

describe('two agents sharing the work', () => {
  it('deliver every record\'s latest version, never regressed nor twice in flight, while one of them is killed again and again', { timeout: 90_000 }, async () => {
    const saas = await startFakeSaas(scope)
    const sink = await startFakeSink(scope)
    sink.delayMs = 40
    const ids = Array.from({ length: 12 }, (_, n) => `cus_ha${n}`)
    const relay = await startRelay(scope, { sources: { crm: webhookSource() } })
    const steady = await relay.startAgent(agentSetup(saas, sink, { second: true, cloud: { leaseSeconds: 5 } }), 'agent B (steady)')
    let victim: HookferryProcess = await relay.startAgent(agentSetup(saas, sink, { cloud: { leaseSeconds: 5 } }), 'agent A (killed repeatedly)')

    let sending = true
    const traffic = (async () => {
      for (let round = 0; sending && round < 40; round++) {
        for (const id of ids) {
          saas.change('customers', id, { round })
          requestIdsOf(await relay.recordChanged('crm', id))
        }
        await sleep(100)
      }
    })()
    for (let kill = 0; kill < 6; kill++) {
      await sleep(700)
      await victim.kill()
      victim = await relay.startAgent(agentSetup(saas, sink, { cloud: { leaseSeconds: 5 } }), `agent A (restart ${kill + 1})`)
    }
    sending = false
    await traffic

    await eventually('every record at its latest version', () => ids.every((id) => sink.accepted(id).at(-1)?.version === String(saas.record('customers', id)!.version)), { timeoutMs: 30_000 })
    await eventually('no work left', async () => (await relay.requests({ source: 'crm', state: 'queued' })).length === 0 && (await relay.requests({ source: 'crm', state: 'leased' })).length === 0, { timeoutMs: 30_000 })
    expectLatestOnceInOrder(saas, sink, ids)
    expect(await relay.requests({ source: 'crm', state: 'dead' })).toEqual([])
    // Both identities did real work.
    expect(steady.logsWith('request done').length).toBeGreaterThan(0)
  })
})

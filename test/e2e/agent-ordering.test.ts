import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { startFakeSaas } from '../support/fake-saas.ts'
import { startFakeSink } from '../support/fake-sink.ts'
import { requestIdsOf, startRelay, webhookSource } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/** Invariants 2 and 3: latest state, once per change; one delivery in flight per record, so never an older version last. */
const scope = useTestScope()
const CHANGES = 12

describe('a burst of changes to one record while the agent is slow', () => {
  it('reaches the sink in strictly increasing versions, one at a time, ending with the last version', async () => {
    const saas = await startFakeSaas(scope)
    const sink = await startFakeSink(scope)
    sink.delayMs = 300
    const relay = await startRelay(scope, { sources: { crm: webhookSource() } })
    await relay.startAgent({
      // Plenty of slots: what keeps the deliveries of one record apart must be the cloud.
      concurrency: 8,
      sources: {
        crm: {
          fetch: { type: 'http', url: saas.recordUrl('customers'), auth: { type: 'bearer', token: '${SAAS_TOKEN}' }, version: 'version' },
          deliver: { type: 'http', url: `${sink.url}/customers/{id}`, method: 'PUT' },
        },
      },
      env: { SAAS_TOKEN: saas.token },
    })

    const requestIds = new Set<string>()
    for (let change = 1; change <= CHANGES; change++) {
      saas.change('customers', 'cus_42', { balance: change * 100 })
      for (const id of requestIdsOf(await relay.recordChanged('crm', 'cus_42'))) requestIds.add(id)
      await sleep(40)
    }
    const lastVersion = saas.record('customers', 'cus_42')!.version

    await eventually('the last version delivered', () => sink.accepted('cus_42').at(-1)?.version === String(lastVersion), { timeoutMs: 15_000 })
    await eventually('no work left for the record', async () => (await relay.requests({ record: 'cus_42' })).every((request) => request.state === 'done'))

    const versions = sink.accepted('cus_42').map((delivery) => Number(delivery.version))
    expect(versions.length).toBeGreaterThan(1) // the burst outlasts one slow delivery
    for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThan(versions[i - 1]!)
    expect(versions.at(-1)).toBe(lastVersion)
    expect(sink.accepted('cus_42').at(-1)!.body).toMatchObject({ balance: CHANGES * 100 })
    // One at a time: each delivery began only after the previous one was answered.
    const deliveries = sink.received.filter((delivery) => delivery.recordId === 'cus_42')
    for (let i = 1; i < deliveries.length; i++) expect(deliveries[i]!.at).toBeGreaterThanOrEqual(deliveries[i - 1]!.answeredAt!)
    // Coalescing: events that arrived while the record waited or was busy shared a fetch.
    expect(saas.fetchesOf('customers', 'cus_42').length).toBeLessThan(CHANGES)
    expect(requestIds.size).toBeLessThan(CHANGES)
  })
})

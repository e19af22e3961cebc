import { describe, expect, it } from 'vitest'
import { startFakeSaas } from '../support/fake-saas.ts'
import { startFakeSink } from '../support/fake-sink.ts'
import { LEASE_SECONDS, requestIdsOf, startRelay, webhookSource } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/** Invariant 4: crash anywhere, lose nothing; a redelivery is harmless (same idempotency key). */
const scope = useTestScope()
const RECORDS = ['cus_1', 'cus_2', 'cus_3', 'cus_4', 'cus_5', 'cus_6']
const CONCURRENCY = 3

describe('an agent killed with SIGKILL mid-delivery', () => {
  it('loses nothing: a new agent delivers every record, redeliveries with the same Idempotency-Key', { timeout: 45_000 }, async () => {
    const saas = await startFakeSaas(scope)
    const sink = await startFakeSink(scope)
    for (const id of RECORDS) saas.change('customers', id, { name: `Customer ${id}` })
    // Slow enough that the first agent dies with deliveries in flight.
    sink.delayMs = 30_000

    const relay = await startRelay(scope, { sources: { crm: webhookSource() } })
    const agentSetup = {
      concurrency: CONCURRENCY,
      sources: {
        crm: {
          fetch: { type: 'http', url: saas.recordUrl('customers'), auth: { type: 'bearer', token: '${SAAS_TOKEN}' }, version: 'version' },
          deliver: { type: 'http', url: `${sink.url}/customers/{id}`, method: 'PUT' },
        },
      },
      env: { SAAS_TOKEN: saas.token },
    }
    const first = await relay.startAgent(agentSetup, 'agent (to be killed)')
    const requestIds: string[] = []
    for (const id of RECORDS) requestIds.push(...requestIdsOf(await relay.recordChanged('crm', id)))

    await eventually(`${CONCURRENCY} deliveries in flight`, () => sink.received.length === CONCURRENCY)
    const inFlight = [...sink.received]
    expect((await first.kill()).signal).toBe('SIGKILL')
    expect(first.logsWith('request done')).toEqual([])

    sink.delayMs = 0
    const second = await relay.startAgent(agentSetup, 'agent (after the crash)')
    // The killed agent's leases must expire first: lease + the queue's margin, and some slack.
    await eventually('every record delivered', () => RECORDS.every((id) => sink.accepted(id).length > 0), { timeoutMs: (LEASE_SECONDS + 10) * 1000 })

    // None lost, none delivered twice once accepted.
    expect(RECORDS.map((id) => sink.accepted(id).length)).toEqual(RECORDS.map(() => 1))
    // Each record cut off mid-flight came again with the key of its first attempt.
    for (const cutOff of inFlight) {
      expect(cutOff.answered).toBe(false)
      const redelivery = sink.accepted(cutOff.recordId)[0]!
      expect(redelivery.idempotencyKey).toBe(cutOff.idempotencyKey)
      expect(redelivery.version).toBe(cutOff.version)
    }

    // The ledger tells the same story: every request done; the cut-off ones after an expired lease.
    const cutOffIds = new Set(inFlight.map((delivery) => delivery.recordId))
    for (const requestId of requestIds) {
      const request = await relay.requestIn(requestId, 'done')
      const outcomes = request.attemptHistory.map((attempt) => attempt.outcome)
      expect(outcomes).toEqual(cutOffIds.has(request.recordId) ? ['lease_expired', 'done'] : ['done'])
    }
    expect(second.logsWith('request done')).toHaveLength(RECORDS.length)
  })
})

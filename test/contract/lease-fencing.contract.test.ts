import { randomUUID } from 'node:crypto'
import { describe, expect, it, type TestContext } from 'vitest'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import type { AckItem, LeaseGrant } from '../../lib/relay/agent-api.ts'
import { ackLeases, extendLeases, pullLeases } from '../../lib/relay/agent-service.ts'
import type { RelayDeps } from '../../lib/relay/deps.ts'
import { ingestWebhook } from '../../lib/relay/ingest.ts'
import { decodeLease, encodeLease } from '../../lib/relay/lease-token.ts'
import { relayFamilies } from './relay-families.ts'

/**
 * The lease id is the fence: an agent that held a lease which expired, and then leased the same
 * request again, cannot finish, retry, release or extend it with the old lease. The agent id alone
 * would let it through, so every late call here comes from the same agent. Both runtimes.
 */
const config = parseWithSchema(
  serverConfigSchema,
  { sources: { crm: { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id', event: 'body.type' }, maxAttempts: 5 } } },
  'lease fencing test config',
)
const AGENT = 'agent-1'
const LEASE_SECONDS = 30

const webhook = (id: string) => ({
  source: 'crm',
  query: {},
  headers: { 'content-type': 'application/json' },
  rawBody: Buffer.from(JSON.stringify({ id, type: 'customer.updated', nonce: randomUUID() })),
})

const lateCalls = (lease: string): AckItem[] => [
  { lease, outcome: 'done' },
  { lease, outcome: 'fail', error: { code: 'sink.rejected', message: 'late' } },
  { lease, outcome: 'retry', delaySeconds: 0, error: { code: 'sink.down', message: 'late' } },
  { lease, outcome: 'release' },
]

describe.concurrent.each(relayFamilies)('lease fencing on $name', (family) => {
  const setup = async (context: TestContext) => {
    const harness = await family.create(config)
    context.onTestFinished(() => harness.close())
    return harness
  }
  const pullOne = async (relay: RelayDeps): Promise<LeaseGrant> => {
    const { leases } = await pullLeases(relay, AGENT, { max: 1, waitSeconds: 5, leaseSeconds: LEASE_SECONDS })
    expect(leases).toHaveLength(1)
    return leases[0]!
  }

  it('rejects the old lease of the same agent once it leased the request again, and accepts the new one', async (context) => {
    const { deps: relay, clock } = await setup(context)
    expect((await ingestWebhook(relay, webhook('42'))).statusCode).toBe(202)
    const old = await pullOne(relay)
    // The lease runs out without an ack (a stalled agent); the queue hands the message out again.
    await relay.queue.changeVisibility(decodeLease(old.lease).receipt, 0)
    clock.advance(LEASE_SECONDS + 1)
    const current = await pullOne(relay)
    expect(current).toMatchObject({ requestId: old.requestId, attempt: 2 })
    expect(decodeLease(current.lease).leaseId).not.toBe(decodeLease(old.lease).leaseId)

    const late = await ackLeases(relay, AGENT, lateCalls(old.lease))
    expect(late.results.map((result) => result.status)).toEqual(['lease_lost', 'lease_lost', 'lease_lost', 'lease_lost'])
    expect((await extendLeases(relay, AGENT, { leases: [{ lease: old.lease, seconds: 60 }] })).results.map((result) => result.status)).toEqual(['lease_lost'])
    // None of them touched the request: still leased by the new lease, its first attempt closed as expired.
    const leased = await relay.ledger.getRequest(old.requestId)
    expect(leased).toMatchObject({ state: 'leased', attempts: 2, lease: { id: decodeLease(current.lease).leaseId, agentId: AGENT, expiresAt: current.leaseExpiresAt } })
    expect(leased?.history.map((attempt) => attempt.outcome)).toEqual(['lease_expired', undefined])

    expect((await ackLeases(relay, AGENT, [{ lease: current.lease, outcome: 'done' }])).results[0]!.status).toBe('ok')
    expect(await relay.ledger.getRequest(old.requestId)).toMatchObject({ state: 'done' })
  })

  it('rejects a lease id it never granted for a live lease of the same agent', async (context) => {
    const { deps: relay } = await setup(context)
    expect((await ingestWebhook(relay, webhook('43'))).statusCode).toBe(202)
    const granted = await pullOne(relay)
    const forged = encodeLease({ ...decodeLease(granted.lease), leaseId: randomUUID() })
    expect((await ackLeases(relay, AGENT, lateCalls(forged))).results.map((result) => result.status)).toEqual(['lease_lost', 'lease_lost', 'lease_lost', 'lease_lost'])
    expect((await extendLeases(relay, AGENT, { leases: [{ lease: forged, seconds: 60 }] })).results[0]!.status).toBe('lease_lost')
    expect(await relay.ledger.getRequest(granted.requestId)).toMatchObject({ state: 'leased', attempts: 1, lease: { expiresAt: granted.leaseExpiresAt } })
    expect((await ackLeases(relay, AGENT, [{ lease: granted.lease, outcome: 'done' }])).results[0]!.status).toBe('ok')
  })

  it('refuses to extend a lease that has run out, and lets the request be leased again', async (context) => {
    const { deps: relay, clock } = await setup(context)
    expect((await ingestWebhook(relay, webhook('44'))).statusCode).toBe(202)
    const expired = await pullOne(relay)
    clock.advance(LEASE_SECONDS + 1)
    // Extending a lease that has run out would revive it under another agent's feet.
    expect((await extendLeases(relay, AGENT, { leases: [{ lease: expired.lease, seconds: 60 }] })).results[0]!.status).toBe('lease_lost')
    await relay.queue.changeVisibility(decodeLease(expired.lease).receipt, 0)
    expect(await pullOne(relay)).toMatchObject({ requestId: expired.requestId, attempt: 2 })
  })
})

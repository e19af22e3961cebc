import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import type { RequestPageResponse } from '../../lib/admin/admin-api.ts'
import { startFakeSaas, type FakeSaas } from '../support/fake-saas.ts'
import { startFakeSink, type FakeSink } from '../support/fake-sink.ts'
import { CLI, type HookferryProcess } from '../support/processes.ts'
import { ADMIN_TOKEN, requestIdsOf, startRelay, webhookSource, type Relay } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/** Invariant 5: failures are retried with backoff (honouring Retry-After), bounded, and visible when they give up. */
const scope = useTestScope()
const run = promisify(execFile)

async function startSystem(sourceOverrides: Record<string, unknown> = {}): Promise<{ saas: FakeSaas; sink: FakeSink; relay: Relay; agent: HookferryProcess }> {
  const saas = await startFakeSaas(scope)
  const sink = await startFakeSink(scope)
  const relay = await startRelay(scope, { sources: { crm: webhookSource(sourceOverrides) } })
  const agent = await relay.startAgent({
    sources: {
      crm: {
        fetch: { type: 'http', url: saas.recordUrl('customers'), auth: { type: 'bearer', token: '${SAAS_TOKEN}' }, version: 'version' },
        deliver: { type: 'http', url: `${sink.url}/customers/{id}`, method: 'PUT' },
      },
    },
    env: { SAAS_TOKEN: saas.token },
    // Probing every second stands in for the default five: the mechanism is the same.
    settings: { circuitBreaker: { failureThreshold: 2, probeIntervalSeconds: 1 } },
  })
  return { saas, sink, relay, agent }
}

const OUTCOME_LINES = ['request done', 'request will be retried', 'request failed', 'request held back: the far side is unavailable (no attempt spent)']
/** The agent's one-line-per-outcome log of a request, as `outcome@attempt`. */
const outcomesOf = (agent: HookferryProcess, requestId: string) =>
  agent.logs.filter((line) => line.requestId === requestId && OUTCOME_LINES.includes(line.msg)).map((line) => `${String(line.outcome)}@${String(line.attempt)}`)

describe('a SaaS API that fails for a while', () => {
  it('waits out a 429 without spending an attempt, retries a 500 with backoff, and delivers the record exactly once', async () => {
    const { saas, sink, relay, agent } = await startSystem()
    saas.change('customers', 'cus_1', { name: 'Grace Hopper' })
    saas.script('customers', 'cus_1', [
      { status: 429, headers: { 'retry-after': '1' }, body: { error: 'slow down' } },
      { status: 500, body: { error: 'oops' } },
    ])

    const [requestId] = requestIdsOf(await relay.recordChanged('crm', 'cus_1'))
    await eventually('the request done', () => agent.logsWith('request done').some((line) => line.requestId === requestId))

    expect(saas.fetchesOf('customers', 'cus_1').map((call) => call.status)).toEqual([429, 500, 200])
    expect(sink.accepted('cus_1')).toHaveLength(1)
    expect(sink.received).toHaveLength(1)
    // A 429 is the API being busy, not the record's fault: the attempt is given back; a 500 counts.
    expect(outcomesOf(agent, requestId!)).toEqual(['release@1', 'retry@1', 'done@2'])
    expect(agent.logsWith('request held back: the far side is unavailable (no attempt spent)')[0]).toMatchObject({ delaySeconds: 1, error: { code: 'agent.fetch_failed' } })
    const [first, second] = saas.fetchesOf('customers', 'cus_1')
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950)
    const request = await relay.requestIn(requestId!, 'done')
    expect(request.attempts).toBe(2)
    expect(request.attemptHistory.map((attempt) => attempt.outcome)).toEqual(['released', 'retry', 'done'])
  })
})

describe('an on-prem sink that is down', () => {
  it('holds the work without spending attempts for as long as it is down, and drains within seconds of its return', async () => {
    const { saas, sink, relay, agent } = await startSystem({ maxAttempts: 2 })
    await sink.setState('refusing')
    const ids = ['cus_2a', 'cus_2b', 'cus_2c', 'cus_2d', 'cus_2e', 'cus_2f']
    for (const id of ids) saas.change('customers', id, { name: id })
    const requestIds: string[] = []
    for (const id of ids) requestIds.push(...requestIdsOf(await relay.recordChanged('crm', id)))

    await agent.waitForLog('the breaker opening', (line) => String(line.msg).includes('is down'))
    // Far longer than two attempts with backoff would last: nothing may die meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 6_000))
    expect((await relay.requests({ state: 'dead' })).filter((request) => requestIds.includes(request.id))).toEqual([])
    expect(agent.logsWith('request will be retried')).toEqual([])

    const backAt = Date.now()
    await sink.setState('up')
    await eventually('every record delivered', () => ids.every((id) => sink.accepted(id).length === 1), { timeoutMs: 30_000 })
    const drainedAt = Date.now()
    await agent.waitForLog('the breaker closing', (line) => String(line.msg).includes('is back after'))
    expect(drainedAt - backAt).toBeLessThan(5_000)
    for (const requestId of requestIds) {
      const request = await relay.requestIn(requestId, 'done')
      expect(request.attemptHistory.filter((attempt) => attempt.outcome === 'retry' || attempt.outcome === 'fail')).toEqual([])
    }
  })

  it('still dead-letters a record the sink refuses for its own sake (422) after maxAttempts, with its last error', async () => {
    const { saas, sink, relay, agent } = await startSystem({ maxAttempts: 3 })
    saas.change('customers', 'cus_3', { name: 'Barbara Liskov' })
    sink.reply = () => ({ status: 422, body: { error: 'name is not unique' } })

    const [requestId] = requestIdsOf(await relay.recordChanged('crm', 'cus_3'))
    const dead = await eventually('the dead letter', async () => {
      const page = await relay.admin<RequestPageResponse>('/admin/v1/requests?state=dead')
      return page.items.find((item) => item.id === requestId)
    })

    expect(dead).toMatchObject({ source: 'crm', recordId: 'cus_3', attempts: 1, maxAttempts: 3, lastError: { code: 'agent.deliver_failed', message: expect.stringContaining('HTTP 422') } })
    expect(outcomesOf(agent, requestId!)).toEqual(['fail@1'])
    await agent.waitForLog('the agent told it was dead-lettered', (line) => line.requestId === requestId && line.msg.includes('dead-lettered'))

    // The admin CLI lists it too.
    const { stdout } = await run(process.execPath, [CLI, 'dead-letters', '--json', '--url', relay.url], { env: { ...process.env, HOOKFERRY_ADMIN_TOKEN: ADMIN_TOKEN } })
    const listed = JSON.parse(stdout) as RequestPageResponse
    expect(listed.items).toEqual([expect.objectContaining({ id: requestId, state: 'dead', lastError: expect.objectContaining({ message: expect.stringContaining('HTTP 422') }) })])
    // Bounded: no second attempt after it died.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(sink.received).toHaveLength(1)
  })

  it('dead-letters after maxAttempts an error that keeps coming but is not an outage (HTTP 500)', async () => {
    const { saas, sink, relay, agent } = await startSystem({ maxAttempts: 3 })
    saas.change('customers', 'cus_4', { name: 'Edsger Dijkstra' })
    sink.reply = () => ({ status: 500, body: { error: 'bug in the ERP' } })
    const [requestId] = requestIdsOf(await relay.recordChanged('crm', 'cus_4'))
    const request = await relay.requestIn(requestId!, 'dead')
    expect(request).toMatchObject({ attempts: 3, lastError: { message: expect.stringContaining('HTTP 500') } })
    expect(outcomesOf(agent, requestId!)).toEqual(['retry@1', 'retry@2', 'retry@3'])
    expect(sink.received.map((delivery) => delivery.status)).toEqual([500, 500, 500])
  })
})

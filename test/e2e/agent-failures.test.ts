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
  })
  return { saas, sink, relay, agent }
}

const OUTCOME_LINES = ['request done', 'request will be retried', 'request failed']
/** The agent's one-line-per-outcome log of a request, as `outcome@attempt`. */
const outcomesOf = (agent: HookferryProcess, requestId: string) =>
  agent.logs.filter((line) => line.requestId === requestId && OUTCOME_LINES.includes(line.msg)).map((line) => `${String(line.outcome)}@${String(line.attempt)}`)

describe('a SaaS API that fails for a while', () => {
  it('is retried after Retry-After, then with backoff, and the record is delivered exactly once', async () => {
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
    expect(outcomesOf(agent, requestId!)).toEqual(['retry@1', 'retry@2', 'done@3'])
    // The 429's Retry-After reached the cloud as the retry delay, and the next fetch waited for it.
    expect(agent.logsWith('request will be retried')[0]).toMatchObject({ delaySeconds: 1, error: { code: 'agent.fetch_failed' } })
    const [first, second] = saas.fetchesOf('customers', 'cus_1')
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950)
    const request = await relay.requestIn(requestId!, 'done')
    expect(request.attempts).toBe(3)
    expect(request.attemptHistory.map((attempt) => attempt.outcome)).toEqual(['retry', 'retry', 'done'])
  })
})

describe('an on-prem sink that is down', () => {
  it('is retried with backoff while it refuses connections, and gets the record when it is back', async () => {
    const { saas, sink, relay, agent } = await startSystem()
    saas.change('customers', 'cus_2', { name: 'Alan Turing' })
    await sink.setState('refusing')

    const [requestId] = requestIdsOf(await relay.recordChanged('crm', 'cus_2'))
    await eventually('two failed attempts', () => agent.logsWith('request will be retried').filter((line) => line.requestId === requestId).length >= 2)
    await sink.setState('up')
    await eventually('the request done', () => agent.logsWith('request done').some((line) => line.requestId === requestId))

    const retries = agent.logsWith('request will be retried').filter((line) => line.requestId === requestId)
    for (const retry of retries) expect(retry.error).toMatchObject({ code: 'agent.network_error', message: expect.stringContaining('ECONNREFUSED') })
    expect(sink.accepted('cus_2')).toHaveLength(1)
    const request = await relay.requestIn(requestId!, 'done')
    expect(request.attempts).toBe(retries.length + 1)
    expect(request.attempts).toBeLessThan(request.maxAttempts)
    // The ledger counted each failed attempt as a retry: none lost, none counted twice.
    expect(request.attemptHistory.map((attempt) => attempt.outcome)).toEqual([...retries.map(() => 'retry'), 'done'])
  })

  it('dead-letters the request after maxAttempts when it never comes back, with its last error in the ledger', async () => {
    const { saas, sink, relay, agent } = await startSystem({ maxAttempts: 3 })
    saas.change('customers', 'cus_3', { name: 'Barbara Liskov' })
    await sink.setState('unavailable')

    const [requestId] = requestIdsOf(await relay.recordChanged('crm', 'cus_3'))
    const dead = await eventually('the dead letter', async () => {
      const page = await relay.admin<RequestPageResponse>('/admin/v1/requests?state=dead')
      return page.items.find((item) => item.id === requestId)
    })

    expect(dead).toMatchObject({ source: 'crm', recordId: 'cus_3', attempts: 3, maxAttempts: 3, lastError: { code: 'agent.deliver_failed', message: expect.stringContaining('HTTP 503') } })
    expect(sink.received.map((delivery) => delivery.status)).toEqual([503, 503, 503])
    expect(outcomesOf(agent, requestId!)).toEqual(['retry@1', 'retry@2', 'retry@3'])
    // The agent learnt it from the ack's answer and says so.
    await agent.waitForLog('the agent told it was dead-lettered', (line) => line.requestId === requestId && line.msg.includes('dead-lettered'))

    // The admin CLI lists it too.
    const { stdout } = await run(process.execPath, [CLI, 'dead-letters', '--json', '--url', relay.url], { env: { ...process.env, HOOKFERRY_ADMIN_TOKEN: ADMIN_TOKEN } })
    const listed = JSON.parse(stdout) as RequestPageResponse
    expect(listed.items).toEqual([expect.objectContaining({ id: requestId, state: 'dead', lastError: expect.objectContaining({ message: expect.stringContaining('HTTP 503') }) })])

    // Bounded: no fourth attempt after it died.
    await new Promise((resolve) => setTimeout(resolve, 1_000)) // the retry cap is 1 s
    expect(sink.received).toHaveLength(3)
  })
})

import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startFakeSaas } from '../support/fake-saas.ts'
import { startFakeSink } from '../support/fake-sink.ts'
import { spawnHookferry, type HookferryProcess } from '../support/processes.ts'
import { ADMIN_TOKEN, AGENT_TOKEN, requestIdsOf, startRelay, webhookSource, WEBHOOK_SECRET } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/**
 * Invariant 6, second half: no secret or token ever reaches a log. A whole run at debug level —
 * webhooks good and badly signed, fetches with an API token (one refused), deliveries and
 * write-backs with tokens, an agent with a wrong token, admin and send commands with right and
 * wrong tokens — and then every byte every process wrote is searched for every secret.
 */
const scope = useTestScope()
const secret = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`
const STRIPE_SECRET = secret('whsec_stripe_')
const SINK_TOKEN = secret('sink_token_')
const WRONG_AGENT_TOKEN = secret('hfa_wrong_')
const WRONG_ADMIN_TOKEN = secret('hfx_wrong_')

/** Which of `secrets` a process's output holds, as is or base64-encoded (basic auth). */
const leaked = (output: string, secrets: string[]) =>
  secrets.filter((value) => output.includes(value) || output.includes(Buffer.from(value).toString('base64')) || output.includes(encodeURIComponent(value)))

describe('every process of a run at debug level', () => {
  it('prints no secret and no token, whatever happened', { timeout: 45_000 }, async () => {
    const saas = await startFakeSaas(scope)
    const sink = await startFakeSink(scope)
    for (const id of ['cus_1', 'cus_2', 'cus_refused']) saas.change('customers', id, { name: `Customer ${id}` })
    // The SaaS refuses the API token for one record: the failure is logged, with what the SaaS said.
    saas.script('customers', 'cus_refused', [{ status: 401, body: { error: 'invalid API token' } }])
    const relay = await startRelay(scope, {
      sources: {
        crm: webhookSource({ maxAttempts: 1 }),
        billing: { verify: { scheme: 'stripe', secrets: [STRIPE_SECRET] }, extract: { recordId: 'body.data.object.id', event: 'body.type' } },
      },
      serveArgs: ['--log-level', 'debug'],
    })
    const source = (collection: string) => ({
      fetch: { type: 'http', url: saas.recordUrl(collection), auth: { type: 'bearer', token: '${SAAS_TOKEN}' } },
      deliver: { type: 'http', url: `${sink.url}/${collection}/{id}`, method: 'PUT', headers: { authorization: 'Bearer ${SINK_TOKEN}' } },
      writeBack: { url: `${saas.recordUrl(collection)}`, method: 'PATCH', body: '{ "erpId": response.body.onPremId }' },
    })
    const agentSetup = { sources: { crm: source('customers'), billing: source('invoices') }, env: { SAAS_TOKEN: saas.token, SINK_TOKEN }, settings: { log: { level: 'debug' } } }
    const agent = await relay.startAgent(agentSetup, 'agent')
    const intruder = await relay.startAgent({ ...agentSetup, cloud: { token: WRONG_AGENT_TOKEN } }, 'agent with a wrong token')

    const requests = [
      ...requestIdsOf(await relay.recordChanged('crm', 'cus_1')),
      ...requestIdsOf(await relay.recordChanged('crm', 'cus_refused')),
    ]
    saas.change('invoices', 'in_1', { total: 100 })
    requests.push(...requestIdsOf(await relay.sendWebhook('billing', { id: 'evt_1', type: 'invoice.paid', data: { object: { id: 'in_1' } } })))
    // Badly signed: 401, logged by serve.
    const forged = await fetch(`${relay.url}/hooks/crm`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }, body: '{"type":"x","data":{"id":"cus_2"}}' })
    expect(forged.status).toBe(401)

    const commands: HookferryProcess[] = []
    const hookferry = async (args: string[], env: NodeJS.ProcessEnv) => {
      const run = spawnHookferry(scope, args, { name: `hookferry ${args.join(' ')}`, env: { HOOKFERRY_URL: relay.url, HOOKFERRY_ADMIN_TOKEN: '', ...env } })
      commands.push(run)
      return (await run.exited).code
    }
    expect(await hookferry(['send', '--config', join(relay.dir, 'hookferry.yaml'), '--source', 'crm', '--data', '{"type":"record.updated","data":{"id":"cus_2"}}'], {})).toBe(0)

    await relay.requestIn(requests[0]!, 'done')
    await relay.requestIn(requests[1]!, 'dead')
    await relay.requestIn(requests[2]!, 'done')
    await eventually('cus_2 delivered', () => sink.accepted('cus_2').length > 0)
    await eventually('the wrong token refused', () => intruder.logs.some((line) => line.level >= 40 && /token/i.test(line.msg)))
    // The tokens were really used: the sink got its own, the SaaS its own (fetch and write-back).
    expect(sink.accepted('cus_1')[0]!.headers.authorization).toBe(`Bearer ${SINK_TOKEN}`)
    await eventually('the write-back of cus_1', () => saas.patches.some((call) => call.id === 'cus_1' && call.headers.authorization === `Bearer ${saas.token}`))

    expect(await hookferry(['requests', '--json'], { HOOKFERRY_ADMIN_TOKEN: ADMIN_TOKEN })).toBe(0)
    expect(await hookferry(['show', requests[1]!], { HOOKFERRY_ADMIN_TOKEN: ADMIN_TOKEN })).toBe(0)
    expect(await hookferry(['requests'], { HOOKFERRY_ADMIN_TOKEN: WRONG_ADMIN_TOKEN })).not.toBe(0)
    expect(await hookferry(['agents'], { HOOKFERRY_ADMIN_TOKEN: '' })).not.toBe(0)

    await agent.stop()
    await intruder.stop()
    await relay.serve.stop()
    const secrets = [WEBHOOK_SECRET, STRIPE_SECRET, AGENT_TOKEN, WRONG_AGENT_TOKEN, ADMIN_TOKEN, WRONG_ADMIN_TOKEN, saas.token, SINK_TOKEN]
    for (const process of [relay.serve, agent, intruder, ...commands]) {
      expect({ process: process.name, leaked: leaked(process.stdout + process.stderr, secrets) }).toEqual({ process: process.name, leaked: [] })
    }
    // The failure paths, whose messages quote what the other side said, were all taken.
    expect(['request dead-lettered', 'agent API request rejected', 'admin API request rejected'].filter((msg) => relay.serve.logsWith(msg).length === 0)).toEqual([])
    expect(agent.logsWith('request failed')).toHaveLength(1)
  })
})

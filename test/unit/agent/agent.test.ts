import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startAgent, type Agent, type AgentOptions } from '../../../lib/agent/agent.ts'
import { parseAgentConfig } from '../../../lib/agent/load-agent-config.ts'
import { startFakeCloud, type FakeCloud } from './fake-cloud.ts'
import { captureLog, startTestServer, tempDir, waitUntil, type Reply } from './helpers.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Setup {
  cloud: FakeCloud
  agent: Agent
  saas: Awaited<ReturnType<typeof startTestServer>>
  sink: Awaited<ReturnType<typeof startTestServer>>
  log: ReturnType<typeof captureLog>
  /** Most SaaS requests seen at the same time. */
  peakConcurrency: () => number
}

async function setup(options: { concurrency?: number; saasReply?: (id: string) => Reply; agent?: AgentOptions; cloudUrl?: string; token?: string; extraYaml?: string; acksOnPull?: boolean } = {}): Promise<Setup> {
  const cloud = await startFakeCloud(options.acksOnPull === undefined ? {} : { acksOnPull: options.acksOnPull })
  cleanups.push(() => cloud.close())
  let active = 0
  let peak = 0
  const saas = await startTestServer(async (request) => {
    active += 1
    peak = Math.max(peak, active)
    const id = request.url.split('/').pop()!
    const reply = options.saasReply?.(id) ?? { body: { id, name: `record ${id}` } }
    await new Promise((resolve) => setTimeout(resolve, reply.delayMs ?? 0))
    active -= 1
    return { ...reply, delayMs: 0 }
  })
  cleanups.push(() => saas.close())
  const sink = await startTestServer(() => ({ status: 200, body: { ok: true } }))
  cleanups.push(() => sink.close())
  const dir = tempDir()
  cleanups.push(dir.remove)
  const config = parseAgentConfig(
    `cloud: { url: "${options.cloudUrl ?? cloud.url}", token: "${options.token ?? cloud.token}", leaseSeconds: 30, pollWaitSeconds: 1 }
concurrency: ${options.concurrency ?? 4}
${options.extraYaml ?? ''}
sources:
  crm:
    fetch: { type: http, url: "${saas.url}/records/{id}" }
    deliver: { type: http, url: "${sink.url}/in" }`,
    join(dir.path, 'agent.yaml'),
  )
  const log = captureLog()
  const agent = await startAgent(config, { logger: log.logger, hostname: 'test-host', version: '9.9.9', retryBaseDelayMs: 10, retryMaxDelayMs: 50, stopGraceMs: 2_000, ...options.agent })
  cleanups.push(() => agent.stop())
  return { cloud, agent, saas, sink, log, peakConcurrency: () => peak }
}

const outcomeLines = (log: ReturnType<typeof captureLog>) => log.lines.filter((line) => typeof line.outcome === 'string' && typeof line.durationMs === 'number')

describe('agent', () => {
  it('works on up to `concurrency` leases at once and acks each', async () => {
    const { cloud, sink, peakConcurrency } = await setup({ concurrency: 3, saasReply: (id) => ({ body: { id }, delayMs: 150 }) })
    const grants = Array.from({ length: 9 }, (_, n) => cloud.enqueue({ recordId: String(n) }))
    await waitUntil(() => cloud.acks.length === 9, 10_000, '9 acks')
    expect(peakConcurrency()).toBe(3)
    expect(cloud.acks.map((ack) => ack.outcome)).toEqual(Array(9).fill('done'))
    expect(new Set(cloud.acks.map((ack) => ack.lease))).toEqual(new Set(grants.map((grant) => grant.lease)))
    expect(sink.requests).toHaveLength(9)
    // Never asks for more leases than it has free slots.
    expect(Math.max(...cloud.pulls.map((pull) => pull.max))).toBeLessThanOrEqual(3)
    expect(cloud.pulls[0]).toMatchObject({ max: 3, waitSeconds: 1, leaseSeconds: 30 })
  })

  it('sends the acks of a busy pool on its next pull, which then does not wait for work', async () => {
    const { cloud } = await setup({ concurrency: 8, saasReply: (id) => ({ body: { id }, delayMs: 40 }) })
    const grants = Array.from({ length: 40 }, (_, n) => cloud.enqueue({ recordId: String(n) }))
    await waitUntil(() => cloud.acks.length === 40, 10_000, '40 acks')
    expect(new Set(cloud.acks.map((ack) => ack.lease))).toEqual(new Set(grants.map((grant) => grant.lease)))
    const carrying = cloud.pulls.filter((pull) => (pull.acks?.length ?? 0) > 0)
    // Most acks rode on pulls (the last wave's go on their own, the pull then long-polling an empty queue);
    // a pull carrying acks never long-polls, and a busy pool pulls in batches.
    expect(carrying.reduce((sum, pull) => sum + pull.acks!.length, 0)).toBeGreaterThanOrEqual(20)
    expect(carrying.every((pull) => pull.waitSeconds === 0)).toBe(true)
    expect(cloud.pulls.slice(1).every((pull) => pull.max >= 2)).toBe(true)
  })

  it('sends acks on their own to a cloud that ignores acks on pulls (an older one), once it saw that', async () => {
    const { cloud, log } = await setup({ concurrency: 8, acksOnPull: false, saasReply: (id) => ({ body: { id }, delayMs: 40 }) })
    const grants = Array.from({ length: 24 }, (_, n) => cloud.enqueue({ recordId: String(n) }))
    await waitUntil(() => cloud.acks.length === 24, 10_000, '24 acks')
    expect(new Set(cloud.acks.map((ack) => ack.lease))).toEqual(new Set(grants.map((grant) => grant.lease)))
    expect(cloud.pulls.filter((pull) => (pull.acks?.length ?? 0) > 0)).toHaveLength(1)
    expect(log.lines.filter((line) => line.msg === 'the cloud does not take acks on pulls (an older hookferry): sending them on their own')).toHaveLength(1)
  })

  it('writes one structured log line per outcome', async () => {
    const { cloud, log } = await setup({ saasReply: (id) => (id === 'gone' ? { status: 400, body: 'bad id' } : { body: { id } }) })
    const ok = cloud.enqueue({ recordId: 'r1', attempt: 2 })
    cloud.enqueue({ recordId: 'gone' })
    await waitUntil(() => cloud.acks.length === 2)
    await waitUntil(() => outcomeLines(log).length === 2)
    expect(outcomeLines(log)).toContainEqual(expect.objectContaining({ requestId: ok.requestId, source: 'crm', recordId: 'r1', outcome: 'done', attempt: 2, msg: 'request done' }))
    expect(outcomeLines(log)).toContainEqual(expect.objectContaining({ recordId: 'gone', outcome: 'fail', error: { code: 'agent.fetch_failed', message: 'fetch crm gone: HTTP 400: bad id' } }))
  })

  it('hands a rate-limited fetch back after the Retry-After delay, without spending an attempt', async () => {
    const { cloud } = await setup({ saasReply: () => ({ status: 429, headers: { 'retry-after': '42' } }) })
    const grant = cloud.enqueue()
    await waitUntil(() => cloud.acks.length === 1)
    expect(cloud.acksOf(grant.lease)).toEqual([{ lease: grant.lease, outcome: 'release', delaySeconds: 42, error: { code: 'agent.fetch_failed', message: expect.stringContaining('HTTP 429') } }])
  })

  it('extends the lease of slow work', async () => {
    const { cloud } = await setup({ saasReply: (id) => ({ body: { id }, delayMs: 400 }), agent: { extendIntervalMs: 50 } })
    const grant = cloud.enqueue()
    await waitUntil(() => cloud.acks.length === 1)
    expect(cloud.extends.filter((item) => item.lease === grant.lease).length).toBeGreaterThanOrEqual(2)
    expect(cloud.extends[0]).toEqual({ lease: grant.lease, seconds: 30 })
    const extendsAtAck = cloud.extends.length
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(cloud.extends.length).toBe(extendsAtAck) // no extension once the work is over
  })

  it('sends heartbeats with its version, hostname and in-flight count', async () => {
    const { cloud } = await setup({ agent: { heartbeatIntervalMs: 50 } })
    await waitUntil(() => cloud.heartbeats.length >= 2)
    expect(cloud.heartbeats[0]).toEqual({ version: '9.9.9', hostname: 'test-host', inFlight: 0, breakers: [] })
  })

  it('stop() waits for running work within the grace period, then acks it', async () => {
    const { cloud, agent } = await setup({ saasReply: (id) => ({ body: { id }, delayMs: 200 }) })
    const grant = cloud.enqueue()
    await waitUntil(() => agent.inFlight === 1)
    await agent.stop()
    expect(cloud.acksOf(grant.lease)).toEqual([{ lease: grant.lease, outcome: 'done' }])
  })

  it('stop() releases the leases of work still running after the grace period and resolves', async () => {
    const { cloud, agent, sink } = await setup({ saasReply: (id) => ({ body: { id }, delayMs: 5_000 }), agent: { stopGraceMs: 100 } })
    const grants = [cloud.enqueue({ recordId: 'a' }), cloud.enqueue({ recordId: 'b' })]
    await waitUntil(() => agent.inFlight === 2)
    await agent.stop()
    expect(cloud.acks).toEqual(expect.arrayContaining(grants.map((grant) => ({ lease: grant.lease, outcome: 'release' }))))
    expect(cloud.acks).toHaveLength(2)
    expect(sink.requests).toHaveLength(0)
    // A poll already on the wire when stop() began may still land; none may start afterwards.
    const pullsAfterStop = cloud.pulls.length
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(cloud.pulls.length).toBe(pullsAfterStop)
  })

  it('stop() ends an idle long poll at once', async () => {
    const { cloud, agent } = await setup()
    await waitUntil(() => cloud.pulls.length >= 1)
    const started = Date.now()
    await agent.stop()
    expect(Date.now() - started).toBeLessThan(900) // the poll waits 1 s
  })

  it('keeps retrying while the cloud is unreachable, then picks up work', async () => {
    const { cloud, log, agent } = await setup()
    cloud.failWith({ status: 503, code: 'storage.unavailable' })
    await waitUntil(() => log.lines.filter((line) => String(line.msg).startsWith('cloud poll failed')).length >= 3, 10_000, 'retry log lines')
    expect(agent.health()).toMatchObject({ ok: false, reason: expect.stringContaining('HTTP 503') })
    cloud.failWith(undefined)
    const grant = cloud.enqueue()
    await waitUntil(() => cloud.acksOf(grant.lease).length === 1, 10_000, 'the ack after recovery')
    expect(cloud.acksOf(grant.lease)[0]).toMatchObject({ outcome: 'done' })
    expect(log.lines).toContainEqual(expect.objectContaining({ msg: 'cloud reachable again' }))
  })

  it('survives a cloud that refuses connections', async () => {
    const closed = await startTestServer(() => ({}))
    await closed.close()
    const { log, agent } = await setup({ cloudUrl: closed.url })
    await waitUntil(() => log.lines.filter((line) => String(line.error).includes('ECONNREFUSED')).length >= 3, 10_000, 'ECONNREFUSED log lines')
    expect(agent.health().ok).toBe(false)
  })

  it('says clearly that its token was rejected, keeps trying slowly and never logs the token', async () => {
    const { cloud, log } = await setup({ token: 'not-the-token-0123' })
    await waitUntil(() => log.lines.filter((line) => String(line.msg).includes('agent token rejected by')).length >= 2, 10_000, 'token log lines')
    const line = log.lines.find((candidate) => String(candidate.msg).includes('agent token rejected by'))!
    expect(line.msg).toContain(`agent token rejected by ${cloud.url} (HTTP 401`)
    expect(line.retryInMs).toBe(50) // the slow lane: straight to the backoff cap
    expect(log.text()).not.toContain('not-the-token-0123')
  })
})

describe('agent health endpoint', () => {
  it('answers /healthz 200 once the cloud answered, and serves Prometheus metrics', async () => {
    const { cloud, agent } = await setup({ extraYaml: 'health: { port: 0 }' })
    expect(agent.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    cloud.enqueue({ recordId: 'x', events: [{ deliveryId: 'd', receivedAt: new Date(Date.now() - 1_500).toISOString() }] })
    await waitUntil(() => cloud.acks.length === 1)
    const health = await fetch(`${agent.healthUrl}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toMatchObject({ status: 'ok' })
    const metrics = await (await fetch(`${agent.healthUrl}/metrics`)).text()
    expect(metrics).toContain('# TYPE hookferry_agent_pulled_total counter')
    expect(metrics).toContain('hookferry_agent_pulled_total{source="crm"} 1')
    expect(metrics).toContain('hookferry_agent_delivered_total{source="crm"} 1')
    expect(metrics).toContain('# TYPE hookferry_agent_in_flight gauge')
    expect(metrics).toMatch(/hookferry_agent_in_flight 0\n/)
    expect(metrics).toContain('hookferry_agent_end_to_end_latency_seconds_bucket{source="crm",le="1"} 0')
    expect(metrics).toContain('hookferry_agent_end_to_end_latency_seconds_bucket{source="crm",le="2.5"} 1')
    expect(metrics).toContain('hookferry_agent_processing_duration_seconds_count{source="crm"} 1')
    expect((await fetch(`${agent.healthUrl}/other`)).status).toBe(404)
  })

  it('answers /healthz 503 with the reason while the cloud fails', async () => {
    const { cloud, agent } = await setup({ extraYaml: 'health: { port: 0 }' })
    await waitUntil(() => agent.health().ok, 5_000, 'a first contact')
    cloud.failWith({ status: 503, code: 'storage.unavailable' })
    // The running long poll ends within its 1 s wait; the next call meets the failure.
    await waitUntil(() => !agent.health().ok, 5_000, 'the failure to show')
    const response = await fetch(`${agent.healthUrl}/healthz`)
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ status: 'unhealthy', reason: expect.stringContaining('storage.unavailable') })
  })
})

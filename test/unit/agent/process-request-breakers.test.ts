import { afterEach, describe, expect, it } from 'vitest'
import { Breakers } from '../../../lib/agent/breakers.ts'
import { processRequest } from '../../../lib/agent/process-request.ts'
import { captureLog, makeLease, startTestServer } from './helpers.ts'
import { buildPipeline, type TestPipeline } from './pipeline.ts'

/**
 * What the cloud is told about a request whose far side (the source's API or the sink) has an
 * open circuit: handed back with a delay and the reason, or held in its slot until a probe may
 * go, and which probes are given back for the next request.
 */
const pipelines: TestPipeline[] = []
const servers: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close()))
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function setup(options: { probeIntervalSeconds: number; now?: () => number }) {
  const sink = await startTestServer(() => ({ status: 200, body: { ok: true } }))
  servers.push(sink)
  // A record with `skip` is filtered by the transform: it ends before it reaches the sink.
  const pipeline = await buildPipeline(`  crm:\n    fetch: { type: payload }\n    transform: { jsonata: "record.skip ? record.nothing : record" }\n    deliver: { type: http, url: "${sink.url}/records/{id}" }\n    loopPrevention: { enabled: false }\n`)
  pipelines.push(pipeline)
  const now = options.now ?? Date.now
  const breakers = new Breakers({ settings: { failureThreshold: 1, probeIntervalSeconds: options.probeIntervalSeconds, maxHeld: 1 }, log: captureLog().logger, now })
  const run = (signal?: AbortSignal, payload: Record<string, unknown> = { id: 7 }) =>
    processRequest(makeLease({ recordId: String(payload.id), payload }), { sources: pipeline.sources, loopGuard: pipeline.loopGuard, log: pipeline.log.logger, now, breakers }, signal)
  const api = breakers.api('crm')
  const sinkBreaker = breakers.sink(pipeline.sources.get('crm')!.loopScope.destination, 'the sink of source crm')
  return { sink, breakers, run, api, sinkBreaker }
}

describe('processRequest behind open circuits', () => {
  it('hands the request back unattempted for a probe interval, naming the side that is down, when the hold is full', async () => {
    const clock = { value: Date.parse('2030-01-01T00:00:00Z') }
    const { sink, breakers, run, api } = await setup({ probeIntervalSeconds: 2.5, now: () => clock.value })
    api.failedWithOutage('503 from the CRM')
    expect(breakers.hold()).toBe(true)
    expect((await run()).outcome).toEqual({
      outcome: 'release',
      delaySeconds: 3,
      error: { code: 'agent.circuit_open', message: 'held: the API of source crm is down since 2030-01-01T00:00:00.000Z (503 from the CRM)' },
    })
    expect(sink.requests).toHaveLength(0)
    expect(api.status()).toMatchObject({ state: 'open', held: 1 })
  })

  it('gives back the API probe it was granted when the sink refuses, so the next request probes the API at once', async () => {
    const clock = { value: Date.parse('2030-01-01T00:00:00Z') }
    const { breakers, run, api, sinkBreaker } = await setup({ probeIntervalSeconds: 5, now: () => clock.value })
    api.failedWithOutage('503 from the CRM')
    clock.value += 4_000
    sinkBreaker.failedWithOutage('ECONNREFUSED')
    clock.value += 1_000 // the API's probe is due, the sink's is not
    breakers.hold()
    expect((await run()).outcome).toMatchObject({ outcome: 'release', error: { code: 'agent.circuit_open', message: 'held: the sink of source crm is down since 2030-01-01T00:00:04.000Z (ECONNREFUSED)' } })
    expect(api.state).toBe('open')
    expect(api.admit()).toEqual({ go: true, probe: true })
  })

  it('waits in its slot while the sink is down, goes as the probe when it is due, and frees the slot', async () => {
    const { sink, breakers, run, sinkBreaker } = await setup({ probeIntervalSeconds: 0.2 })
    sinkBreaker.failedWithOutage('ECONNREFUSED')
    const started = Date.now()
    expect((await run()).outcome).toEqual({ outcome: 'done' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    expect(sink.requests).toHaveLength(1)
    expect(sinkBreaker.state).toBe('closed')
    expect(breakers.hold()).toBe(true)
  })

  it('stops waiting when the agent stops: the request is handed back with the reason and its slot freed', async () => {
    const { sink, breakers, run, api } = await setup({ probeIntervalSeconds: 30 })
    api.failedWithOutage('503 from the CRM')
    const abort = new AbortController()
    const running = run(abort.signal)
    setTimeout(() => abort.abort(), 20)
    expect((await running).outcome).toMatchObject({ outcome: 'release', delaySeconds: 30, error: { code: 'agent.circuit_open' } })
    expect(sink.requests).toHaveLength(0)
    expect(breakers.hold()).toBe(true)
  })

  it('waits for both sides when both are down (the agent\'s own network is out), and goes once both let it', async () => {
    const { sink, run, api, sinkBreaker } = await setup({ probeIntervalSeconds: 0.2 })
    api.failedWithOutage('ENETUNREACH')
    sinkBreaker.failedWithOutage('ENETUNREACH')
    // Other work keeps running meanwhile: the wait must not keep the event loop busy.
    let ticks = 0
    const ticking = setInterval(() => (ticks += 1), 10)
    try {
      expect((await run()).outcome).toEqual({ outcome: 'done' })
    } finally {
      clearInterval(ticking)
    }
    expect(ticks).toBeGreaterThan(5)
    expect(sink.requests).toHaveLength(1)
    expect([api.state, sinkBreaker.state]).toEqual(['closed', 'closed'])
  })

  it('gives back the API probe it kept while waiting for the sink when the agent stops', async () => {
    const { run, api, sinkBreaker } = await setup({ probeIntervalSeconds: 0.1 })
    api.failedWithOutage('ENETUNREACH')
    await new Promise((resolve) => setTimeout(resolve, 110))
    sinkBreaker.failedWithOutage('ENETUNREACH')
    const abort = new AbortController()
    const running = run(abort.signal)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(api.state).toBe('half-open')
    abort.abort()
    expect((await running).outcome).toMatchObject({ outcome: 'release', error: { code: 'agent.circuit_open' } })
    expect(api.state).toBe('open')
    expect(api.admit()).toEqual({ go: true, probe: true })
  })

  it('gives back a probe its request never used (filtered before the sink), so the next request probes the sink', async () => {
    const { sink, run, sinkBreaker } = await setup({ probeIntervalSeconds: 0.1 })
    sinkBreaker.failedWithOutage('ECONNREFUSED')
    await new Promise((resolve) => setTimeout(resolve, 110))
    expect((await run(undefined, { id: 1, skip: true })).outcome).toEqual({ outcome: 'done', note: 'filtered' })
    expect(sinkBreaker.state).toBe('open')
    expect((await run(undefined, { id: 2 })).outcome).toEqual({ outcome: 'done' })
    expect(sink.requests.map((request) => request.url)).toEqual(['/records/2'])
    expect(sinkBreaker.state).toBe('closed')
  })
})

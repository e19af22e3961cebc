import { afterEach, describe, expect, it } from 'vitest'
import { Breakers } from '../../../lib/agent/breakers.ts'
import { CircuitBreaker, type BreakerChange } from '../../../lib/agent/circuit-breaker.ts'
import { processRequest } from '../../../lib/agent/process-request.ts'
import { captureLog, makeLease, startTestServer } from './helpers.ts'
import { buildPipeline, type TestPipeline } from './pipeline.ts'

function breaker(now: { value: number }, changes: BreakerChange[] = []) {
  return new CircuitBreaker('the sink of source crm', { failureThreshold: 3, probeIntervalMs: 5_000, now: () => now.value, onChange: (change) => changes.push(change) })
}

describe('circuit breaker', () => {
  it('opens after the threshold of outages in a row, holding work until the probe time', () => {
    const now = { value: 0 }
    const changes: BreakerChange[] = []
    const circuit = breaker(now, changes)
    circuit.failedWithOutage('ECONNREFUSED')
    circuit.failedWithOutage('ECONNREFUSED')
    expect(circuit.admit()).toEqual({ go: true, probe: false })
    circuit.failedWithOutage('ECONNREFUSED')
    expect(changes).toEqual([expect.objectContaining({ state: 'open', lastError: 'ECONNREFUSED' })])
    now.value = 1_000
    expect(circuit.admit()).toEqual({ go: false, retryInMs: 4_000 })
    expect(circuit.status()).toMatchObject({ state: 'open', held: 1, lastError: 'ECONNREFUSED' })
  })

  it('lets one probe through at a time; its success closes it and reports the outage length', () => {
    const now = { value: 0 }
    const changes: BreakerChange[] = []
    const circuit = breaker(now, changes)
    for (let n = 0; n < 3; n++) circuit.failedWithOutage('ECONNRESET')
    now.value = 5_000
    expect(circuit.admit()).toEqual({ go: true, probe: true })
    expect(circuit.admit()).toMatchObject({ go: false })
    circuit.succeeded()
    expect(circuit.state).toBe('closed')
    expect(changes.at(-1)).toMatchObject({ state: 'closed', since: 0, held: 1 })
    expect(circuit.admit()).toEqual({ go: true, probe: false })
  })

  it('opens again when the probe meets the outage, and waits a full interval', () => {
    const now = { value: 0 }
    const circuit = breaker(now)
    for (let n = 0; n < 3; n++) circuit.failedWithOutage('503')
    now.value = 5_000
    circuit.admit()
    circuit.failedWithOutage('503')
    expect(circuit.state).toBe('open')
    now.value = 9_000
    expect(circuit.admit()).toMatchObject({ go: false })
    now.value = 10_000
    expect(circuit.admit()).toEqual({ go: true, probe: true })
  })

  it('is not moved by a failure of the record itself: an answer, even a 422, means the far side is up', () => {
    const now = { value: 0 }
    const circuit = breaker(now)
    circuit.failedWithOutage('x')
    circuit.failedWithOutage('x')
    circuit.succeeded()
    circuit.failedWithOutage('x')
    expect(circuit.state).toBe('closed')
  })
})

describe('the pipeline during an outage', () => {
  const pipelines: TestPipeline[] = []
  const servers: { close(): Promise<void> }[] = []
  afterEach(async () => {
    await Promise.all(pipelines.splice(0).map((pipeline) => pipeline.close()))
    await Promise.all(servers.splice(0).map((server) => server.close()))
  })

  async function setup(sinkStatus: { value: number }) {
    const sink = await startTestServer(() => ({ status: sinkStatus.value, body: { ok: sinkStatus.value < 300 } }))
    servers.push(sink)
    const pipeline = await buildPipeline(`  crm:\n    fetch: { type: payload }\n    deliver: { type: http, url: "${sink.url}/records/{id}" }\n    loopPrevention: { enabled: false }\n`)
    pipelines.push(pipeline)
    const log = captureLog()
    const breakers = new Breakers({ settings: { failureThreshold: 2, probeIntervalSeconds: 0.2, maxHeld: 1 }, log: log.logger, now: Date.now })
    const run = (n: number) => processRequest(makeLease({ recordId: String(n), payload: { id: n } }), { sources: pipeline.sources, loopGuard: pipeline.loopGuard, log: log.logger, now: Date.now, breakers })
    return { sink, run, log, breakers }
  }

  it('spends no attempts while the sink is down, holds work in its slot once the circuit opens, and delivers it when the sink is back', async () => {
    const status = { value: 503 }
    const { sink, run, log, breakers } = await setup(status)
    expect((await run(1)).outcome).toMatchObject({ outcome: 'release', delaySeconds: 1, error: { code: 'agent.deliver_failed' } })
    expect((await run(2)).outcome).toMatchObject({ outcome: 'release' })
    expect(breakers.statuses()).toContainEqual(expect.objectContaining({ name: 'the sink of source crm', state: 'open' }))
    const held = run(3)
    await new Promise((resolve) => setTimeout(resolve, 50))
    // The one hold slot is taken: more work goes back to the cloud for a while, unattempted.
    const before = sink.requests.length
    expect((await run(4)).outcome).toEqual({ outcome: 'release', delaySeconds: 1, error: expect.objectContaining({ code: 'agent.circuit_open' }) })
    expect(sink.requests.length).toBe(before)
    status.value = 200
    expect((await held).outcome).toEqual({ outcome: 'done' })
    expect(breakers.statuses()).toContainEqual(expect.objectContaining({ name: 'the sink of source crm', state: 'closed' }))
    expect(log.lines.filter((line) => String(line.msg).includes('is down'))).toHaveLength(1)
    expect(log.lines.filter((line) => String(line.msg).includes('is back after'))).toHaveLength(1)
  })

  it('dead-letters what the sink refuses for the record\'s own sake (422), as before', async () => {
    const { run } = await setup({ value: 422 })
    expect((await run(1)).outcome).toMatchObject({ outcome: 'fail', error: { code: 'agent.deliver_failed' } })
  })
})

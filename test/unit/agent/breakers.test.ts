import { describe, expect, it } from 'vitest'
import { Breakers, through } from '../../../lib/agent/breakers.ts'
import { CircuitBreaker, type BreakerChange } from '../../../lib/agent/circuit-breaker.ts'
import { outageError, permanentError } from '../../../lib/agent/errors.ts'
import { AgentMetrics } from '../../../lib/agent/metrics.ts'
import { captureLog } from './helpers.ts'

/**
 * The breakers' states as the agent's operator sees them (status, log lines, the circuit_open
 * metric) and as its pipeline sees them (admissions, waits, hold slots), on a clock the test sets.
 */
function circuit(now: { value: number }, changes: BreakerChange[] = [], failureThreshold = 2) {
  return new CircuitBreaker('sink crm', { failureThreshold, probeIntervalMs: 5_000, now: () => now.value, onChange: (change) => changes.push(change) })
}

function breakers(now: { value: number }, settings: { maxHeld?: number; probeIntervalSeconds?: number } = {}) {
  const log = captureLog('info')
  const metrics = new AgentMetrics()
  const all = new Breakers({ settings: { failureThreshold: 1, probeIntervalSeconds: 5, ...settings }, log: log.logger, metrics, now: () => now.value })
  return { all, log, metrics }
}

describe('circuit breaker states', () => {
  it('counts outages in a row only: an answer in between starts the count again', () => {
    const now = { value: 0 }
    const breaker = circuit(now)
    breaker.failedWithOutage('ECONNREFUSED')
    breaker.succeeded()
    breaker.failedWithOutage('ECONNREFUSED')
    expect(breaker.state).toBe('closed')
    breaker.failedWithOutage('ECONNREFUSED')
    expect(breaker.state).toBe('open')
  })

  it('opens once: more outages from requests already in flight change neither the open time nor the log', () => {
    const now = { value: 1_000 }
    const changes: BreakerChange[] = []
    const breaker = circuit(now, changes, 1)
    breaker.failedWithOutage('down')
    now.value = 3_000
    breaker.failedWithOutage('still down')
    expect(changes.map((change) => change.state)).toEqual(['open'])
    expect(breaker.status()).toMatchObject({ state: 'open', since: new Date(1_000).toISOString(), lastError: 'still down' })
  })

  it('reports its state, since when, the held count and the last error while open; nothing of that once closed', () => {
    const now = { value: 60_000 }
    const changes: BreakerChange[] = []
    const breaker = circuit(now, changes)
    expect(breaker.status()).toEqual({ name: 'sink crm', state: 'closed', held: 0 })
    breaker.failedWithOutage('first')
    breaker.failedWithOutage('ETIMEDOUT')
    expect(breaker.admit()).toEqual({ go: false, retryInMs: 5_000 })
    expect(breaker.admit()).toEqual({ go: false, retryInMs: 5_000 })
    expect(breaker.status()).toEqual({ name: 'sink crm', state: 'open', since: new Date(60_000).toISOString(), held: 2, lastError: 'ETIMEDOUT' })
    now.value += 5_000
    expect(breaker.admit()).toEqual({ go: true, probe: true })
    expect(breaker.status()).toMatchObject({ state: 'half-open', held: 2 })
    breaker.succeeded()
    expect(breaker.status()).toEqual({ name: 'sink crm', state: 'closed', held: 0 })
    expect(changes).toEqual([
      { name: 'sink crm', state: 'open', since: 60_000, held: 0, lastError: 'ETIMEDOUT' },
      { name: 'sink crm', state: 'closed', since: 60_000, held: 2, lastError: 'ETIMEDOUT' },
    ])
  })

  it('reopens quietly when the probe meets the outage (one open change per outage), and asks to retry soon once the probe is overdue', () => {
    const now = { value: 0 }
    const changes: BreakerChange[] = []
    const breaker = circuit(now, changes)
    breaker.failedWithOutage('down')
    breaker.failedWithOutage('down')
    now.value = 5_000
    expect(breaker.admit()).toEqual({ go: true, probe: true })
    // The probe is slow: the others are told to look again in a moment, not in a negative time.
    now.value = 20_000
    expect(breaker.admit()).toEqual({ go: false, retryInMs: 1 })
    breaker.failedWithOutage('still down')
    expect(breaker.state).toBe('open')
    expect(breaker.admit()).toEqual({ go: false, retryInMs: 5_000 })
    expect(changes.map((change) => change.state)).toEqual(['open'])
    expect(breaker.status()).toMatchObject({ since: new Date(0).toISOString(), lastError: 'still down' })
  })

  it('lets the next probe go at once when the last one was abandoned, and ignores an abandon while closed', () => {
    const now = { value: 0 }
    const breaker = circuit(now)
    breaker.probeAbandoned()
    expect(breaker.admit()).toEqual({ go: true, probe: false })
    breaker.failedWithOutage('down')
    breaker.failedWithOutage('down')
    now.value = 5_000
    expect(breaker.admit()).toEqual({ go: true, probe: true })
    now.value = 6_000
    breaker.probeAbandoned()
    expect(breaker.state).toBe('open')
    expect(breaker.admit()).toEqual({ go: true, probe: true })
  })

  it('whenAdmitted: goes at once while closed, wakes the waiters the moment the circuit closes, and gives up on abort', async () => {
    const now = { value: 0 }
    const breaker = circuit(now)
    expect(await breaker.whenAdmitted()).toBe(false)
    breaker.failedWithOutage('down')
    breaker.failedWithOutage('down')
    let woke: boolean | undefined
    const waiting = breaker.whenAdmitted().then((probe) => (woke = probe))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(woke).toBeUndefined()
    const started = Date.now()
    breaker.succeeded()
    expect(await waiting).toBe(false)
    expect(Date.now() - started).toBeLessThan(1_000)

    breaker.failedWithOutage('down')
    breaker.failedWithOutage('down')
    const abort = new AbortController()
    const aborted = breaker.whenAdmitted(abort.signal)
    abort.abort()
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('whenAdmitted: the waiter whose probe time comes goes as the probe', async () => {
    const now = { value: Date.now() }
    const breaker = new CircuitBreaker('api', { failureThreshold: 1, probeIntervalMs: 50, now: () => Date.now(), onChange: () => undefined })
    breaker.failedWithOutage('down')
    expect(await breaker.whenAdmitted()).toBe(true)
    expect(breaker.state).toBe('half-open')
    expect(Date.now() - now.value).toBeGreaterThanOrEqual(40)
  })
})

describe('breakers', () => {
  it('keeps one breaker per source API and one per destination, named by its first user', () => {
    const { all } = breakers({ value: 0 })
    expect(all.api('crm')).toBe(all.api('crm'))
    expect(all.api('crm')).not.toBe(all.api('shop'))
    expect(all.api('crm').name).toBe('the API of source crm')
    const sink = all.sink('abc123', 'the sink of source crm')
    expect(all.sink('abc123', 'the sink of source shop')).toBe(sink)
    expect(sink.name).toBe('the sink of source crm')
    expect(all.sink('def456', 'the sink of source shop')).not.toBe(sink)
    expect(all.statuses().map((status) => status.name)).toEqual(['the API of source crm', 'the API of source shop', 'the sink of source crm', 'the sink of source shop'])
  })

  it('logs the outage and its end with their fields, and shows it in the circuit_open metric', () => {
    const now = { value: 1_000_000 }
    const { all, log, metrics } = breakers(now)
    const sink = all.sink('abc123', 'the sink of source crm')
    sink.failedWithOutage('ECONNREFUSED 127.0.0.1:5432')
    expect(metrics.render()).toContain('hookferry_agent_circuit_open{breaker="the sink of source crm"} 1')
    expect(log.lines.at(-1)).toMatchObject({
      level: 40,
      breaker: 'the sink of source crm',
      error: 'ECONNREFUSED 127.0.0.1:5432',
      msg: 'the sink of source crm is down (ECONNREFUSED 127.0.0.1:5432): holding its requests without spending their attempts; probing every 5 s',
    })
    now.value += 1_000
    expect(sink.admit()).toMatchObject({ go: false })
    now.value += 64_400
    expect(sink.admit()).toEqual({ go: true, probe: true })
    sink.succeeded()
    expect(metrics.render()).toContain('hookferry_agent_circuit_open{breaker="the sink of source crm"} 0')
    expect(log.lines.at(-1)).toMatchObject({ level: 30, breaker: 'the sink of source crm', downSeconds: 65, held: 1, msg: 'the sink of source crm is back after 1m05s: draining the 1 held requests' })

    const api = all.api('crm')
    api.failedWithOutage('503')
    api.admit()
    now.value += 7_000
    api.admit()
    api.succeeded()
    expect(log.lines.at(-1)).toMatchObject({ downSeconds: 7, held: 1, msg: 'the API of source crm is back after 7s: draining the 1 held requests' })
  })

  it('gives out hold slots up to maxHeld (one by default), never fewer than none back', () => {
    const { all } = breakers({ value: 0 })
    expect(all.hold()).toBe(true)
    expect(all.hold()).toBe(false)
    all.unhold()
    all.unhold()
    expect(all.hold()).toBe(true)
    expect(all.hold()).toBe(false)
    const two = breakers({ value: 0 }, { maxHeld: 2 }).all
    expect([two.hold(), two.hold(), two.hold()]).toEqual([true, true, false])
  })

  it('hands overflow back for a whole probe interval, at least a second', () => {
    expect(breakers({ value: 0 }, { probeIntervalSeconds: 2.5 }).all.overflowDelaySeconds).toBe(3)
    expect(breakers({ value: 0 }, { probeIntervalSeconds: 0.2 }).all.overflowDelaySeconds).toBe(1)
  })

  it('slows the pulls to one per probe interval only while the hold is full and a far side is down', async () => {
    const { all } = breakers({ value: 0 }, { probeIntervalSeconds: 0.3 })
    all.api('shop') // up: one side down is enough
    const timed = async () => {
      const started = Date.now()
      await all.beforePull(new AbortController().signal)
      return Date.now() - started
    }
    all.api('crm').failedWithOutage('down')
    expect(await timed()).toBeLessThan(100)
    all.hold()
    expect(await timed()).toBeGreaterThanOrEqual(250)
    all.api('crm').succeeded()
    expect(await timed()).toBeLessThan(100)
    all.api('crm').failedWithOutage('down')
    const abort = new AbortController()
    const started = Date.now()
    const pulling = all.beforePull(abort.signal)
    abort.abort()
    await pulling
    expect(Date.now() - started).toBeLessThan(100)
  })
})

describe('through', () => {
  it('counts an outage against the breaker, and any answer (a result or the record\'s own error) for it', async () => {
    const now = { value: 0 }
    const breaker = circuit(now, [], 1)
    await expect(through(breaker, () => Promise.reject(outageError('sink.unavailable', 'ECONNREFUSED')))).rejects.toMatchObject({ code: 'sink.unavailable' })
    expect(breaker.status()).toMatchObject({ state: 'open', lastError: 'ECONNREFUSED' })
    now.value = 5_000
    breaker.admit()
    await expect(through(breaker, () => Promise.reject(permanentError('sink.rejected', '422')))).rejects.toMatchObject({ code: 'sink.rejected' })
    expect(breaker.state).toBe('closed')
    breaker.failedWithOutage('down')
    now.value = 10_000
    breaker.admit()
    expect(await through(breaker, () => Promise.resolve('ok'))).toBe('ok')
    expect(breaker.state).toBe('closed')
    expect(await through(undefined, () => Promise.resolve('no breaker'))).toBe('no breaker')
  })

  it('abandons the probe when the call was aborted, and is not moved by an error that is not the agent\'s', async () => {
    const now = { value: 0 }
    const breaker = circuit(now, [], 1)
    breaker.failedWithOutage('down')
    now.value = 5_000
    breaker.admit()
    const abort = new AbortController()
    abort.abort()
    await expect(through(breaker, () => Promise.reject(outageError('sink.unavailable', 'aborted')), abort.signal)).rejects.toThrow('aborted')
    // Abandoned, not failed: the next probe may go at once, and the last error is still the outage's.
    expect(breaker.status()).toMatchObject({ state: 'open', lastError: 'down' })
    expect(breaker.admit()).toEqual({ go: true, probe: true })
    await expect(through(breaker, () => Promise.reject(new TypeError('a bug')))).rejects.toThrow('a bug')
    expect(breaker.state).toBe('half-open')
  })
})

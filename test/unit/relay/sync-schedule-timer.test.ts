import { afterEach, describe, expect, it, vi } from 'vitest'
import { serverConfigSchema, type ServerConfig } from '../../../lib/config/server-config.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import type { Ledger, RecordMutation, RecordSnapshot } from '../../../lib/ports/ledger.ts'
import { noMetrics, type Log, type RelayDeps } from '../../../lib/relay/deps.ts'
import { startScheduleTimer } from '../../../lib/relay/sync/schedule-timer.ts'

/**
 * The scheduler of `hookferry serve` (sync-service's scheduleDueRuns on a timer): one tick at
 * start, then one at each job's next slot (a little after it), at least once a minute, and a
 * stop that waits for the tick in progress. Fake timers and clock; the ledger records the ticks.
 */

const source = { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id' } }
const configWith = (jobs: Record<string, { schedule: string }>): ServerConfig => parseWithSchema(serverConfigSchema, { sources: { crm: { ...source, jobs } } }, 'test config')

/** Deps whose ledger only counts the scheduler's writes (each tick anchors or finds nothing due). */
function depsFor(config: ServerConfig, options: { hold?: Promise<void> } = {}) {
  const ticks: { at: string; recordKey: string }[] = []
  const errors: { message: string; fields?: Record<string, unknown> }[] = []
  const ledger = {
    mutateRecord: async <T>(recordKey: string, _ids: string[], decide: (snapshot: RecordSnapshot) => RecordMutation<T>): Promise<T> => {
      ticks.push({ at: new Date().toISOString(), recordKey })
      if (options.hold) await options.hold
      return decide({ record: undefined, requests: new Map() }).result
    },
  } as unknown as Ledger
  const log: Log = { debug() {}, info() {}, warn() {}, error: (message, fields) => void errors.push({ message, ...(fields ? { fields } : {}) }) }
  const deps = { config, ledger, queue: undefined as never, log, metrics: noMetrics, now: () => new Date(), newId: () => 'run-1', random: Math.random } satisfies RelayDeps
  return { deps, ticks, errors }
}

describe('startScheduleTimer', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('starts no timer when no job is configured', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const { deps, ticks } = depsFor(parseWithSchema(serverConfigSchema, { sources: { crm: source } }, 'test config'))
    const stop = startScheduleTimer(deps)
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(120_000)
    expect(ticks).toEqual([])
    await expect(stop()).resolves.toBeUndefined()
  })

  it('ticks at once, then 50 ms after the next slot, and at least once a minute', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    vi.setSystemTime(new Date('2031-03-01T12:04:30.000Z'))
    const { deps, ticks } = depsFor(configWith({ contacts: { schedule: '*/5 * * * *' } }))
    const stop = startScheduleTimer(deps)
    expect(ticks).toEqual([])
    await vi.advanceTimersByTimeAsync(0)
    expect(ticks).toEqual([{ at: '2031-03-01T12:04:30.000Z', recordKey: expect.stringContaining('contacts') }])
    // The slot at 12:05:00 is 30 s away: the next tick comes 50 ms after it.
    await vi.advanceTimersByTimeAsync(30_049)
    expect(ticks).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(ticks.map((tick) => tick.at)).toEqual(['2031-03-01T12:04:30.000Z', '2031-03-01T12:05:00.050Z'])
    // The slot after is nearly 5 minutes away: woken each minute meanwhile.
    await vi.advanceTimersByTimeAsync(59_999)
    expect(ticks).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(ticks.at(-1)?.at).toBe('2031-03-01T12:06:00.050Z')
    await stop()
  })

  it('wakes for the earliest slot of all jobs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    vi.setSystemTime(new Date('2031-03-01T12:00:10.000Z'))
    const { deps, ticks } = depsFor(configWith({ hourly: { schedule: '0 * * * *' }, often: { schedule: '*/1 * * * *' }, daily: { schedule: '30 2 * * *' } }))
    const stop = startScheduleTimer(deps)
    await vi.advanceTimersByTimeAsync(0)
    expect(ticks).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(50_049)
    expect(ticks).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(1)
    expect(ticks).toHaveLength(6)
    expect(ticks.at(-1)?.at).toBe('2031-03-01T12:01:00.050Z')
    await stop()
  })

  it('stops ticking once stopped, after the tick in progress', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    vi.setSystemTime(new Date('2031-03-01T12:04:30.000Z'))
    let release: () => void = () => {}
    const { deps, ticks } = depsFor(configWith({ contacts: { schedule: '*/5 * * * *' } }), { hold: new Promise<void>((resolve) => (release = resolve)) })
    const stop = startScheduleTimer(deps)
    await vi.advanceTimersByTimeAsync(0)
    expect(ticks).toHaveLength(1)
    let stopped = false
    const stopping = stop().then(() => void (stopped = true))
    await vi.advanceTimersByTimeAsync(0)
    expect(stopped).toBe(false)
    release()
    await stopping
    expect(stopped).toBe(true)
    // No next tick was planned by the one that ended after the stop.
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(600_000)
    expect(ticks).toHaveLength(1)
  })

  it('cancels the planned tick when stopped between ticks', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    vi.setSystemTime(new Date('2031-03-01T12:04:30.000Z'))
    const { deps, ticks } = depsFor(configWith({ contacts: { schedule: '*/5 * * * *' } }))
    const stop = startScheduleTimer(deps)
    await vi.advanceTimersByTimeAsync(0)
    expect(vi.getTimerCount()).toBe(1)
    await stop()
    expect(vi.getTimerCount()).toBe(0)
    await vi.advanceTimersByTimeAsync(600_000)
    expect(ticks).toHaveLength(1)
  })

  it('logs a tick that fails and keeps ticking', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    vi.setSystemTime(new Date('2031-03-01T12:04:30.000Z'))
    const config = configWith({ contacts: { schedule: '*/5 * * * *' } })
    const { deps, ticks, errors } = depsFor(config)
    // The config read at start is fine; the first tick's read of the jobs fails (only that one).
    let reads = 0
    const flaky = {
      ...deps,
      get config(): ServerConfig {
        reads += 1
        if (reads === 2) throw new Error('config unreadable')
        return config
      },
    }
    const stop = startScheduleTimer(flaky)
    await vi.advanceTimersByTimeAsync(0)
    expect(errors).toEqual([{ message: 'sync scheduler failed', fields: { error: 'Error: config unreadable' } }])
    expect(ticks).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(30_050)
    expect(ticks).toHaveLength(1)
    await stop()
  })
})

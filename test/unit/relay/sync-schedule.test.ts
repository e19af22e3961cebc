import { describe, expect, it } from 'vitest'
import { serverConfigSchema } from '../../../lib/config/server-config.ts'
import { syncJobSchema, type SyncJobConfig } from '../../../lib/config/sync-jobs.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import type { RecordSnapshot } from '../../../lib/ports/ledger.ts'
import { decideSchedule, runRequestSpec } from '../../../lib/relay/sync/run-decisions.ts'
import { dueSlot, nextSlot, scheduledMode } from '../../../lib/relay/sync/schedule.ts'
import type { RecordState, RelayRequest } from '../../../lib/relay/types.ts'

const job = (overrides: Record<string, unknown>): SyncJobConfig => parseWithSchema(syncJobSchema, { schedule: '*/5 * * * *', ...overrides }, 'test job')
const at = (iso: string) => new Date(iso)

/** Runs decideSchedule like the ledger would: the mutation's record and requests become the next snapshot. */
function scheduler(config: SyncJobConfig) {
  let record: RecordState | undefined
  const requests = new Map<string, RelayRequest>()
  let ids = 0
  return {
    tick(now: string) {
      const snapshot: RecordSnapshot = { record, requests: new Map(requests) }
      const mutation = decideSchedule(snapshot, { request: runRequestSpec(`run-${++ids}`, 'crm', 'contacts', config), config, now: at(now) })
      if (mutation.record) record = mutation.record
      for (const request of mutation.requests ?? []) requests.set(request.id, request)
      return mutation.result
    },
    get job() {
      return record?.job
    },
    runs: () => [...requests.values()],
  }
}

describe('sync schedule: due slots', () => {
  it('is due at a slot that passed since the last one, exactly once', () => {
    const every5 = job({})
    expect(dueSlot(every5, '2026-03-01T12:00:00.000Z', at('2026-03-01T12:04:59.999Z'))).toBeUndefined()
    expect(dueSlot(every5, '2026-03-01T12:00:00.000Z', at('2026-03-01T12:05:00.000Z'))).toEqual({ slot: at('2026-03-01T12:05:00.000Z'), missed: false })
    expect(dueSlot(every5, '2026-03-01T12:05:00.000Z', at('2026-03-01T12:07:00.000Z'))).toBeUndefined()
  })

  it('turns every slot missed during downtime into one catch-up slot, the latest', () => {
    expect(dueSlot(job({}), '2026-03-01T12:00:00.000Z', at('2026-03-01T15:02:00.000Z'))).toEqual({ slot: at('2026-03-01T15:00:00.000Z'), missed: true })
  })

  it('reads the schedule in the job\'s time zone, daylight saving time included', () => {
    const nightly = job({ schedule: '30 2 * * *', timezone: 'Europe/Berlin' })
    expect(nextSlot(nightly, at('2026-03-27T12:00:00.000Z'))).toEqual(at('2026-03-28T01:30:00.000Z')) // CET, UTC+1
    expect(nextSlot(nightly, at('2026-03-29T12:00:00.000Z'))).toEqual(at('2026-03-30T00:30:00.000Z')) // CEST, UTC+2
    // 02:30 does not exist on 29 March in Berlin: croner runs the fixed-time job right after the gap.
    expect(nextSlot(nightly, at('2026-03-28T12:00:00.000Z'))).toEqual(at('2026-03-29T01:00:00.000Z'))
    expect(nextSlot(job({ schedule: '0 9 * * 1-5', timezone: 'America/New_York' }), at('2026-03-06T15:00:00.000Z'))).toEqual(at('2026-03-09T13:00:00.000Z'))
  })

  it('makes every fullEvery-th scheduled run a full one, and every run of a full job', () => {
    const weeklyFull = job({ fullEvery: 7 })
    expect([1, 6, 7, 8, 14].map((n) => scheduledMode(weeklyFull, n))).toEqual(['incremental', 'incremental', 'full', 'incremental', 'full'])
    expect(scheduledMode(job({ mode: 'full' }), 1)).toBe('full')
  })
})

describe('sync schedule: the scheduler tick', () => {
  it('only remembers a new job, then triggers one run per slot', () => {
    const clock = scheduler(job({}))
    expect(clock.tick('2026-03-01T12:01:00.000Z')).toEqual({ outcome: 'anchored' })
    expect(clock.runs()).toHaveLength(0)
    expect(clock.tick('2026-03-01T12:04:00.000Z')).toEqual({ outcome: 'none' })
    expect(clock.tick('2026-03-01T12:05:00.050Z')).toMatchObject({ outcome: 'created', slot: '2026-03-01T12:05:00.000Z', missed: false })
    expect(clock.tick('2026-03-01T12:06:00.000Z')).toEqual({ outcome: 'none' })
    expect(clock.job).toMatchObject({ firstSeenAt: '2026-03-01T12:01:00.000Z', lastScheduledAt: '2026-03-01T12:05:00.000Z', scheduledRuns: 1 })
  })

  it('starts at once with firstRun: immediately', () => {
    const clock = scheduler(job({ firstRun: 'immediately' }))
    expect(clock.tick('2026-03-01T12:01:00.000Z')).toMatchObject({ outcome: 'created', slot: '2026-03-01T12:01:00.000Z' })
    expect(clock.tick('2026-03-01T12:02:00.000Z')).toEqual({ outcome: 'none' })
  })

  it('catches up a long downtime with one run, and a slot while that run waits joins it', () => {
    const clock = scheduler(job({}))
    clock.tick('2026-03-01T12:00:00.000Z')
    expect(clock.tick('2026-03-02T08:00:00.000Z')).toMatchObject({ outcome: 'created', missed: true })
    expect(clock.tick('2026-03-02T08:05:00.000Z')).toMatchObject({ outcome: 'coalesced', missed: false })
    expect(clock.runs()).toHaveLength(1)
    expect(clock.runs()[0]!.events.map((event) => event.sync?.trigger)).toEqual(['catch-up', 'schedule'])
  })

  it('counts scheduled runs for fullEvery across coalesced slots', () => {
    const clock = scheduler(job({ fullEvery: 2 }))
    clock.tick('2026-03-01T12:00:00.000Z')
    clock.tick('2026-03-01T12:05:00.000Z')
    clock.tick('2026-03-01T12:10:00.000Z')
    expect(clock.runs()[0]!.events.map((event) => event.sync?.mode)).toEqual(['incremental', 'full'])
  })
})

describe('server config: jobs', () => {
  const withJob = (jobConfig: Record<string, unknown>) => () =>
    parseWithSchema(serverConfigSchema, { sources: { crm: { verify: { scheme: 'github', secrets: ['s'] }, extract: { recordId: 'body.id' }, jobs: { nightly: jobConfig } } } }, 'hookferry.yaml')

  it('fills the defaults', () => {
    expect(withJob({ schedule: '0 2 * * *' })().sources.crm!.jobs.nightly).toEqual({
      schedule: '0 2 * * *', timezone: 'UTC', mode: 'incremental', lagSeconds: 60, maxAttempts: 5, firstRun: 'next-slot', alertAfterIntervals: 3,
    })
  })

  it('names the key of a bad cron expression or time zone', () => {
    expect(withJob({ schedule: '61 2 * * *' })).toThrow(/^hookferry\.yaml: sources\.crm\.jobs\.nightly\.schedule: "61 2 \* \* \*" is not a cron expression \(.*minute.*\)/)
    expect(withJob({ schedule: '0 2 * * *', timezone: 'Mars/Olympus' })).toThrow('hookferry.yaml: sources.crm.jobs.nightly.timezone: "Mars/Olympus" is not an IANA time zone')
    expect(withJob({ schedule: '0 2 * * *', mode: 'sometimes' })).toThrow(/sources\.crm\.jobs\.nightly\.mode/)
    expect(withJob({ schedule: '0 2 * * *', cron: 'x' })).toThrow(/sources\.crm\.jobs\.nightly/)
  })
})

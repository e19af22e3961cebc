import type { SyncJobConfig } from '../../config/sync-jobs.ts'
import type { ServerConfig } from '../../config/server-config.ts'
import type { CheckpointRequest, CheckpointResponse } from '../agent-api.ts'
import type { RelayDeps } from '../deps.ts'
import { guardStorage, sendWorkMessages } from '../work-messages.ts'
import { decodeLease, type LeaseRef } from '../lease-token.ts'
import type { EventResult } from '../record-machine.ts'
import type { SyncRunSpec } from '../sync-types.ts'
import type { RelayRequest } from '../types.ts'
import { decideCheckpoint, decideSchedule, decideTrigger, jobRecordKey, runRequestSpec, type ScheduleResult } from './run-decisions.ts'

/** Every configured job, in config order. */
export interface JobRef {
  source: string
  job: string
  config: SyncJobConfig
  recordKey: string
}

export function jobsOf(config: ServerConfig): JobRef[] {
  return Object.entries(config.sources).flatMap(([source, sourceConfig]) =>
    Object.entries(sourceConfig.jobs).map(([job, jobConfig]) => ({ source, job, config: jobConfig, recordKey: jobRecordKey(source, job) })),
  )
}

/** The configured job, or undefined. */
export function findJob(config: ServerConfig, source: string, job: string): JobRef | undefined {
  // Own keys only: a path segment such as "constructor" must not find an inherited property.
  const jobs = Object.hasOwn(config.sources, source) ? config.sources[source]!.jobs : {}
  const jobConfig = Object.hasOwn(jobs, job) ? jobs[job] : undefined
  return jobConfig ? { source, job, config: jobConfig, recordKey: jobRecordKey(source, job) } : undefined
}

/** The lag of a job (0 when it is no longer configured): decideClaim's `lagSecondsOf`. */
export const lagSecondsOf = (config: ServerConfig) => (source: string, job: string): number => findJob(config, source, job)?.config.lagSeconds ?? 0

export interface ScheduledTick {
  source: string
  job: string
  result: ScheduleResult
}

/**
 * The scheduler (the SyncSchedule cron on AWS, a timer in `hookferry serve`): for each job whose
 * slot has come, one run is triggered and its message sent. A job that fails is logged and the
 * others still run; its slot stays unconsumed, so the next tick tries again.
 */
export async function scheduleDueRuns(deps: RelayDeps): Promise<ScheduledTick[]> {
  const ticks: ScheduledTick[] = []
  for (const ref of jobsOf(deps.config)) {
    try {
      const now = deps.now()
      const spec = runRequestSpec(deps.newId(), ref.source, ref.job, ref.config)
      // Stryker disable next-line ArrayDeclaration: equivalent, reading one more (unknown) request id finds nothing
      const result = await deps.ledger.mutateRecord(ref.recordKey, [], (snapshot) => decideSchedule(snapshot, { request: spec, config: ref.config, now }))
      if ('send' in result) {
        if (result.send) await sendWorkMessages(deps, [{ requestId: result.requestId, recordKey: ref.recordKey }])
        deps.metrics.count('SyncRunsTriggered', 1, { source: ref.source, job: ref.job })
        deps.log.info(`sync ${ref.source}/${ref.job}: ${result.missed ? 'caught up missed slots with one run' : 'scheduled run'} (${result.outcome})`, { source: ref.source, job: ref.job, slot: result.slot, runId: result.requestId, outcome: result.outcome })
      }
      ticks.push({ source: ref.source, job: ref.job, result })
    } catch (error) {
      // Unsent but written work is re-sent by the repair sweep; an unwritten slot is retried next tick.
      deps.log.error(`sync ${ref.source}/${ref.job}: could not schedule`, { source: ref.source, job: ref.job, error: String(error) })
    }
  }
  return ticks
}

/** Starts a run on request (`hookferry sync start`): created, joined to the queued run, or after the running one. */
export async function triggerRun(deps: RelayDeps, ref: JobRef, spec: SyncRunSpec): Promise<EventResult> {
  const now = deps.now()
  const request = runRequestSpec(deps.newId(), ref.source, ref.job, ref.config)
  const event = { deliveryId: `${spec.trigger}:${deps.newId()}`, event: `sync.${spec.trigger}`, receivedAt: now.toISOString(), sync: spec }
  // Stryker disable next-line ArrayDeclaration: equivalent, reading one more (unknown) request id finds nothing
  const result = await guardStorage(() => deps.ledger.mutateRecord(ref.recordKey, [], (snapshot) => decideTrigger(snapshot, { request, event, now })))
  if (result.send) await sendWorkMessages(deps, [{ requestId: result.requestId, recordKey: ref.recordKey }])
  deps.metrics.count('SyncRunsTriggered', 1, { source: ref.source, job: ref.job })
  return result
}

/** A run ended (done or failed): per-job records read and written, its duration, one log line. */
export function reportRunEnd(deps: Pick<RelayDeps, 'metrics' | 'log'>, run: RelayRequest, now: Date): void {
  const { counts, startedAt, mode } = run.sync!
  const job = { source: run.source, job: run.recordId }
  const durationSeconds = startedAt ? Math.max(0, (now.getTime() - Date.parse(startedAt)) / 1000) : 0
  deps.metrics.gauge('SyncRunRecordsRead', counts.read, 'Count', job)
  deps.metrics.gauge('SyncRunRecordsWritten', counts.written, 'Count', job)
  deps.metrics.gauge('SyncRunDurationSeconds', durationSeconds, 'Seconds', job)
  const fields = { ...job, runId: run.id, mode, state: run.state, counts, durationSeconds, error: run.lastError?.message }
  if (run.state === 'done') deps.log.info(`sync ${job.source}/${job.job}: run done: ${counts.read} read, ${counts.written} written, ${counts.rejected} rejected`, fields)
  else deps.log.warn(`sync ${job.source}/${job.job}: run ${run.state}: the job's watermark stays at its last checkpoint`, fields)
}

/** POST /agent/v1/checkpoint: records a committed chunk of a run, with the lease as the fence. */
export async function checkpointLease(deps: RelayDeps, agentId: string, body: CheckpointRequest): Promise<CheckpointResponse> {
  let ref: LeaseRef
  try {
    ref = decodeLease(body.lease)
  } catch {
    return { status: 'invalid_lease' }
  }
  const now = deps.now()
  const result = await deps.ledger.mutateRecord(ref.recordKey, [ref.requestId], (snapshot) =>
    decideCheckpoint(snapshot, { requestId: ref.requestId, leaseId: ref.leaseId, agentId, progress: body.progress, now }),
  )
  if (result.status === 'ok') deps.metrics.count('SyncCheckpoints')
  return result
}

import type { SyncCounts, Watermark } from '../../relay/sync-types.ts'
import { ConfigError } from '../../errors.ts'
import { userFunctionError } from '../errors.ts'
import { httpFailure } from '../http-failure.ts'
import type { HttpClient } from '../http-client.ts'
import { loadUserFunction } from '../load-module.ts'
import type { Sink } from '../sinks/sink.ts'
import type { AfterRunConfig } from './sync-config.ts'

/** What an `afterRun` step gets: the run's summary and the keys it changed. */
export interface RunSummary {
  runId: string
  source: string
  job: string
  mode: 'incremental' | 'full'
  counts: SyncCounts
  /** Where the run ended (the job's next watermark). */
  checkpoint?: Watermark
  startedAt: string
  finishedAt: string
  /** Ids written or deleted by this attempt of the run; null when more than `sync.maxChangedKeys`. */
  changedKeys: string[] | null
  /** false when the run resumed after a crash (keys of the earlier attempt are not known) or keys were dropped. */
  changedKeysComplete: boolean
}
export type AfterRun = (summary: RunSummary, signal?: AbortSignal) => Promise<void>
/** The shape of an afterRun module's export. */
export type UserAfterRun = (summary: RunSummary) => unknown

/** Builds a source's `sync.afterRun`; `key` names it in messages. An SQL step needs a sink that runs statements. */
export async function createAfterRun(config: AfterRunConfig, deps: { sink: Sink; http: HttpClient; key: string; now?: () => number }): Promise<AfterRun> {
  const { key } = deps
  switch (config.type) {
    case 'sql': {
      const { execute } = deps.sink
      if (!execute) throw new ConfigError(`${key}: type sql needs a database sink (deliver type postgres or mysql)`)
      return (summary, signal) => execute(config.statement, [JSON.stringify(summary)], signal)
    }
    case 'module': {
      const step = await loadUserFunction<UserAfterRun>(config.module, config.export, `${key}.module`)
      return async (summary) => {
        try {
          await step(summary)
        } catch (error) {
          throw userFunctionError(error, 'agent.after_run_failed', `${key}: afterRun threw`, true)
        }
      }
    }
    case 'http':
      return async (summary, signal) => {
        const what = `afterRun ${summary.source}/${summary.job}`
        const response = await deps.http.request({
          what,
          url: config.url,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...Object.fromEntries(Object.entries(config.headers).map(([name, value]) => [name.toLowerCase(), value])) },
          body: JSON.stringify(summary),
          timeoutMs: config.timeoutMs,
          ...(signal ? { signal } : {}),
        })
        if (response.status < 200 || response.status >= 300) throw httpFailure('agent.after_run_failed', what, response, { now: (deps.now ?? Date.now)() })
      }
  }
}

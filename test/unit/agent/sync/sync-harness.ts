import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgentApiClient } from '../../../../lib/agent/api-client.ts'
import { HttpClient } from '../../../../lib/agent/http-client.ts'
import { parseAgentConfig } from '../../../../lib/agent/load-agent-config.ts'
import { LoopGuard } from '../../../../lib/agent/loop-guard.ts'
import { processRequest, type ProcessResult } from '../../../../lib/agent/process-request.ts'
import type { Delivery, DeliveryOutcome, Sink } from '../../../../lib/agent/sinks/sink.ts'
import { buildSources, closeSources, type SourceRuntime } from '../../../../lib/agent/source-runtime.ts'
import { runSync } from '../../../../lib/agent/sync/run-sync.ts'
import type { LeaseGrant, SyncGrant } from '../../../../lib/relay/agent-api.ts'
import { SYNC_RECORD_TYPE, ZERO_COUNTS } from '../../../../lib/relay/sync-types.ts'
import { startFakeListApi, type FakeListApi, type GeneratedRecords } from '../../../support/fake-list-api.ts'
import { startFakeCloud, type FakeCloud } from '../fake-cloud.ts'
import { captureLog, makeLease, tempDir } from '../helpers.ts'

/** Sink behaviour a test injects around the real (file) sink of the source. */
export interface SinkHooks {
  /** Before the batch is written; throw to fail the whole batch. */
  beforeBatch?: (deliveries: readonly Delivery[]) => void
  /** Replaces the outcome of one delivery (e.g. a refused record). */
  outcome?: (delivery: Delivery) => DeliveryOutcome | undefined
}

export interface SyncHarness {
  api: FakeListApi
  cloud: FakeCloud
  source: SourceRuntime
  /** When each record id was committed by the sink (epoch ms), every time it was. */
  commits: { id: string; at: number }[]
  log: ReturnType<typeof captureLog>
  dir: string
  /** A sync-run lease for job `nightly` of source `crm`. */
  lease(grant?: Partial<SyncGrant>): LeaseGrant
  run(lease: LeaseGrant): Promise<ProcessResult>
  /** A webhook-path request through processRequest (origin filter on the real-time path). */
  request(lease: LeaseGrant): Promise<ProcessResult>
  /** The file sink's lines. */
  delivered(): (Delivery & { deliveredAt: string })[]
  close(): Promise<void>
}

/**
 * The executor with real parts: a fake list API and a fake cloud over real HTTP, the agent's own
 * config parsing, source runtime, loop guard and file sink. `sourceYaml` is the body of source
 * `crm` (without fetch/deliver: the fetch reads the list API, `deliver` defaults to a file sink).
 */
export async function startSyncHarness(options: { sourceYaml: (apiUrl: string) => string; generated?: GeneratedRecords; hooks?: SinkHooks; deliver?: string }): Promise<SyncHarness> {
  const dir = tempDir()
  const api = await startFakeListApi(options.generated ? { generated: options.generated } : {})
  const cloud = await startFakeCloud()
  const sinkFile = join(dir.path, 'sink.jsonl')
  const yaml = [
    `cloud: { url: "${cloud.url}", token: "${cloud.token}" }`,
    'sources:',
    '  crm:',
    `    fetch: { type: http, url: "${api.url}/items/{id}" }`,
    `    deliver: ${options.deliver ?? `{ type: file, path: "${sinkFile}" }`}`,
    ...options.sourceYaml(api.url).split('\n').map((line) => `    ${line}`),
  ].join('\n')
  const config = parseAgentConfig(yaml, join(dir.path, 'agent.yaml'))
  const http = new HttpClient()
  const sources = await buildSources(config.sources, { http })
  const loopGuard = new LoopGuard(config.dataDir)
  const client = new AgentApiClient({ baseUrl: cloud.url, token: cloud.token, http })
  const log = captureLog()
  const source = sources.get('crm')!
  const commits: { id: string; at: number }[] = []
  const inner = source.sink
  const hooks = options.hooks ?? {}
  const wrapped: Sink = {
    ...inner,
    async deliverBatch(deliveries, signal) {
      hooks.beforeBatch?.(deliveries)
      const replaced = deliveries.map((delivery) => hooks.outcome?.(delivery))
      const written = deliveries.filter((_delivery, index) => replaced[index] === undefined)
      const outcomes = written.length > 0 ? await inner.deliverBatch(written, signal) : []
      const at = Date.now()
      for (const delivery of written) commits.push({ id: delivery.recordId, at })
      let next = 0
      return replaced.map((outcome) => outcome ?? outcomes[next++]!)
    },
  }
  source.sink = { ...inner, ...wrapped, deliver: inner.deliver }

  return {
    api,
    cloud,
    source,
    commits,
    log,
    dir: dir.path,
    lease: (grant = {}) =>
      makeLease({ source: 'crm', recordId: 'nightly', recordType: SYNC_RECORD_TYPE, sync: { runId: 'run-1', job: 'nightly', mode: 'incremental', counts: { ...ZERO_COUNTS }, ...grant } }),
    run: (lease) => runSync(lease, { sources, loopGuard, checkpoint: (request, signal) => client.checkpoint(request, signal), log: log.logger, now: Date.now, retryBaseDelaySeconds: 0.01 }),
    request: (lease) => processRequest(lease, { sources, loopGuard, log: log.logger, now: Date.now }),
    delivered: () => {
      try {
        return readFileSync(sinkFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Delivery & { deliveredAt: string })
      } catch {
        return []
      }
    },
    async close() {
      await closeSources(sources)
      loopGuard.close()
      await http.close()
      await Promise.all([api.close(), cloud.close()])
      dir.remove()
    },
  }
}

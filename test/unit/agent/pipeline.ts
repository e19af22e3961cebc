import { join } from 'node:path'
import type { LoadedAgentConfig } from '../../../lib/agent/load-agent-config.ts'
import { parseAgentConfig } from '../../../lib/agent/load-agent-config.ts'
import { LoopGuard } from '../../../lib/agent/loop-guard.ts'
import { HttpClient } from '../../../lib/agent/http-client.ts'
import { processRequest, type ProcessResult } from '../../../lib/agent/process-request.ts'
import { buildSources, closeSources, type SourceRuntime } from '../../../lib/agent/source-runtime.ts'
import type { LeaseGrant } from '../../../lib/relay/agent-api.ts'
import { captureLog, tempDir } from './helpers.ts'

/** The agent's request pipeline built from the `sources:` YAML of a config in a temp folder. */
export interface TestPipeline {
  config: LoadedAgentConfig
  dir: string
  sources: Map<string, SourceRuntime>
  loopGuard: LoopGuard
  log: ReturnType<typeof captureLog>
  run(lease: LeaseGrant): Promise<ProcessResult>
  close(): Promise<void>
}

/** `dataDir`: keep the agent's state in this folder (e.g. to build a second pipeline over the same state). */
export async function buildPipeline(sourcesYaml: string, options: { now?: () => number; dataDir?: string } = {}): Promise<TestPipeline> {
  const dir = tempDir()
  const dataDir = options.dataDir ? `dataDir: "${options.dataDir}"\n` : ''
  const config = parseAgentConfig(`cloud: { url: "http://127.0.0.1:1", token: t }\n${dataDir}sources:\n${sourcesYaml}`, join(dir.path, 'agent.yaml'))
  const http = new HttpClient()
  const now = options.now ?? Date.now
  const sources = await buildSources(config.sources, { http, now })
  const loopGuard = new LoopGuard(config.dataDir, now)
  const log = captureLog()
  return {
    config,
    dir: dir.path,
    sources,
    loopGuard,
    log,
    run: (lease) => processRequest(lease, { sources, loopGuard, log: log.logger, now }),
    async close() {
      await closeSources(sources)
      loopGuard.close()
      await http.close()
      dir.remove()
    },
  }
}

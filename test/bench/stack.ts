import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { VerifyConfig } from '../../lib/config/server-config.ts'
import { startDemoSaas, type DemoSaas } from '../../lib/demo/demo-saas.ts'
import { startDemoSink } from '../../lib/demo/demo-sink.ts'
import { sha256Hex } from '../../lib/relay/agent-auth.ts'
import type { AwsCallCounts } from './aws-call-counter.ts'
import type { FunctionUsage } from './aws-cloud.ts'
import { childEnv, forkReady, spawnCli, type CliChild } from './processes.ts'

export type Runtime = 'embedded' | 'aws'
export const SOURCE = 'bench'

/** What the AWS cloud process measured since the last call. */
export interface CloudStats {
  functions: Record<string, FunctionUsage>
  calls: AwsCallCounts
}

export interface Cloud {
  runtime: Runtime
  url: string
  /** AWS only: invocations, durations and AWS calls since the last call. */
  stats?: () => Promise<CloudStats>
  stop(): Promise<void>
}

/** The on-prem side in the bench's own process: a fake SaaS API to fetch from and a sink that counts. */
export interface OnPrem {
  saas: DemoSaas
  sinkUrl: string
  saasToken: string
  /** Deliveries per record id (more than 1 is a duplicate). */
  deliveries: Map<string, number>
  /** performance.now() of every delivery, in order. */
  deliveredAt: number[]
  /** Makes a record the SaaS API will serve. */
  addRecord(id: string): void
  /** Resolves with performance.now() when `id` reaches the sink. */
  delivered(id: string): Promise<number>
  close(): Promise<void>
}

export async function startOnPrem(): Promise<OnPrem> {
  const saasToken = `saas_${randomBytes(12).toString('hex')}`
  const saas = await startDemoSaas({ apiToken: saasToken, onChange: () => {} })
  const deliveries = new Map<string, number>()
  const deliveredAt: number[] = []
  const waiting = new Map<string, (at: number) => void>()
  const sink = await startDemoSink({
    onDelivery: ({ body }) => {
      const at = performance.now()
      const id = String(body.id)
      deliveries.set(id, (deliveries.get(id) ?? 0) + 1)
      deliveredAt.push(at)
      waiting.get(id)?.(at)
      waiting.delete(id)
    },
  })
  return {
    saas,
    sinkUrl: sink.url,
    saasToken,
    deliveries,
    deliveredAt,
    addRecord: (id) => {
      saas.customers.set(id, { id, name: `Customer ${id}`, email: `${id}@example.com`, plan: 'pro', version: 1, updated_at: new Date().toISOString() })
    },
    delivered: (id) => new Promise((resolve) => waiting.set(id, resolve)),
    close: async () => {
      await Promise.all([saas.close(), sink.close()])
    },
  }
}

/** Secrets and the server config file shared by both runtimes. */
export interface CloudConfig {
  file: string
  verify: VerifyConfig
  agentToken: string
}

export function writeCloudConfig(dir: string): CloudConfig {
  const verify: VerifyConfig = { scheme: 'standard-webhooks', secrets: [`whsec_${randomBytes(24).toString('base64')}`], toleranceSeconds: 300 }
  const agentToken = `hfa_${randomBytes(24).toString('base64url')}`
  const file = join(dir, 'hookferry.yaml')
  writeFileSync(
    file,
    [
      'sources:',
      `  ${SOURCE}:`,
      `    verify: { scheme: standard-webhooks, secrets: ["${verify.secrets[0]}"] }`,
      `    extract: { recordId: body.data.id, recordType: "'customer'", event: body.type }`,
      'agents:',
      `  - { id: bench-agent, tokenSha256: ${sha256Hex(agentToken)} }`,
    ].join('\n'),
  )
  return { file, verify, agentToken }
}

let cloudRuns = 0

/** `hookferry serve` itself (the CLI, a fresh SQLite file in `dir`), or the AWS-adapter cloud process on the emulators' `awsEnv`. */
export async function startCloud(runtime: Runtime, config: CloudConfig, dir: string, awsEnv?: Record<string, string>): Promise<Cloud> {
  cloudRuns += 1
  if (runtime === 'embedded') {
    const dataDir = join(dir, `serve-data-${cloudRuns}`)
    const serve = await spawnCli(['serve', '--config', config.file, '--data-dir', dataDir, '--port', '0'], join(dir, `serve-${cloudRuns}.log`), 'hookferry serve is listening')
    return { runtime, url: String(serve.readyLine.agentApiUrl), stop: serve.stop }
  }
  const cloud = await forkReady('./aws-cloud.ts', childEnv({ ...awsEnv, HOOKFERRY_CONFIG: config.file }))
  return { runtime, url: cloud.url, stats: () => cloud.ask<CloudStats>({ type: 'stats' }), stop: cloud.stop }
}

let agentRuns = 0

/**
 * Which build of `hookferry agent` the bench runs. `compiled` (the default) is what users run:
 * the npm package's bin imports dist/ (`npm run build`), plain JavaScript. `checkout` is
 * lib/cli/bin.js on the TypeScript sources, which Node strips as it loads them: about 35 MB more
 * RSS, all of it the loader's, none of it the agent's. HOOKFERRY_BENCH_AGENT=checkout picks it.
 */
export type AgentBuild = 'compiled' | 'checkout'
export const AGENT_BUILD: AgentBuild = process.env.HOOKFERRY_BENCH_AGENT === 'checkout' ? 'checkout' : 'compiled'
const REPO = fileURLToPath(new URL('../../', import.meta.url))
const COMPILED_CLI = fileURLToPath(new URL('./compiled-cli.js', import.meta.url))
/** Outside dist/, which the npm package ships whole. */
const BUILD_INFO = join(REPO, 'node_modules/.cache/hookferry-bench.tsbuildinfo')
let compiling: Promise<void> | undefined

/**
 * Compiles lib/ into dist/ as `npm run build` does, once per bench process, incrementally (a few
 * seconds when nothing changed), so the agent measured is always the checkout's code.
 */
export function compileAgent(): Promise<void> {
  // An incremental build does not emit again what it emitted before: without dist/, start afresh.
  if (!existsSync(join(REPO, 'dist/lib/cli/main.js'))) rmSync(BUILD_INFO, { force: true })
  compiling ??= promisify(execFile)(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', BUILD_INFO], { cwd: REPO }).then(
    () => undefined,
    (error: Error & { stdout?: string }) => {
      throw new Error(`npm run build failed, the compiled agent cannot be measured: ${error.stdout?.trim() || error.message}`)
    },
  )
  return compiling
}

/** `hookferry agent` (the CLI, AGENT_BUILD) in its own process, fetching from the fake SaaS and delivering to the sink; `nodeArgs` go to its node. */
export async function startAgentProcess({ cloud, config, onPrem, concurrency, dir, nodeArgs = [] }: { cloud: Cloud; config: CloudConfig; onPrem: OnPrem; concurrency: number; dir: string; nodeArgs?: string[] }): Promise<CliChild> {
  agentRuns += 1
  const file = join(dir, `agent-${agentRuns}.yaml`)
  writeFileSync(
    file,
    [
      'cloud:',
      `  url: ${cloud.url}`,
      `  token: ${config.agentToken}`,
      `concurrency: ${concurrency}`,
      `dataDir: ./agent-data-${agentRuns}`,
      'sources:',
      `  ${SOURCE}:`,
      '    fetch:',
      '      type: http',
      `      url: ${onPrem.saas.url}/api/customers/{id}`,
      `      auth: { type: bearer, token: ${onPrem.saasToken} }`,
      '      version: version',
      '    deliver:',
      '      type: http',
      `      url: ${onPrem.sinkUrl}/customers/{id}`,
      '      method: PUT',
    ].join('\n'),
  )
  if (AGENT_BUILD === 'compiled') await compileAgent()
  return spawnCli(['agent', '--config', file], join(dir, `agent-${agentRuns}.log`), 'hookferry agent started', childEnv(), { ...(AGENT_BUILD === 'compiled' ? { entry: COMPILED_CLI } : {}), nodeArgs })
}

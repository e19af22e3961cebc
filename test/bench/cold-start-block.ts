import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { build, type BuildOptions, type Metafile } from 'esbuild'
import { configYamlToJson } from '../../lib/runtime/deploy-config.ts'
import { DEPLOYED_CONFIG_FILE } from '../../lib/runtime/json-config.ts'
import { row, valueRow, type Row } from './report.ts'
import { summarize } from './stats.ts'

const run = promisify(execFile)
const FUNCTIONS_DIR = fileURLToPath(new URL('../../functions/', import.meta.url))
const KB = 1024

/**
 * esbuild options as SST 3/4 builds a Node function (pkg/runtime/node/build.go in sst/sst), with
 * this project's `nodejs: { format: 'esm', minify: true, splitting: true }`: everything is bundled,
 * the AWS SDK included (SST keeps only sharp and pg-native external; nodejs22.x's own copy of the
 * SDK is not used: loaded from node_modules it took about twice as long as the bundled one), and
 * code reached only through `await import()` goes into chunks of its own that a cold start loads
 * only if it runs that code. https://github.com/sst/sst/blob/dev/pkg/runtime/node/build.go
 */
export const SST_ESBUILD_OPTIONS: BuildOptions = {
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'esnext',
  mainFields: ['module', 'main'],
  external: ['sharp', 'pg-native'],
  keepNames: true,
  minify: true,
  sourcemap: false,
  outExtension: { '.js': '.mjs' },
  logLevel: 'silent',
  banner: {
    js: [
      `import { createRequire as topLevelCreateRequire } from 'module';`,
      `const require = topLevelCreateRequire(import.meta.url);`,
      `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
      `const __filename = topLevelFileUrlToPath(import.meta.url)`,
      `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
    ].join('\n'),
  },
}

/** One function's build: its entry file and every chunk SST would zip with it. */
export interface FunctionBundle {
  name: string
  entry: string
  /** Every output file (entry and chunks, absolute paths) with its size. */
  files: { path: string; bytes: number }[]
  metafile: Metafile
}

/** Bundles functions/<name>.ts (or any handler file) into its own directory, as SST would. */
export async function bundleFunction(source: string, outdir: string, options: BuildOptions = SST_ESBUILD_OPTIONS): Promise<FunctionBundle> {
  const name = basename(source, '.ts')
  const splitting = options.splitting === true
  const result = await build({
    ...options,
    entryPoints: [source],
    ...(splitting ? { outdir } : { outfile: join(outdir, `${name}.mjs`), outExtension: {} }),
    metafile: true,
  })
  const files = Object.entries(result.metafile.outputs).map(([path, output]) => ({ path: resolve(path), bytes: output.bytes }))
  return { name, entry: join(outdir, `${name}.mjs`), files, metafile: result.metafile }
}

/** Every source file (repo-relative, as esbuild names them) that ended up in any output file of the bundle. */
export function bundledInputs(bundle: FunctionBundle): string[] {
  return [...new Set(Object.values(bundle.metafile.outputs).flatMap((output) => Object.keys(output.inputs)))].sort()
}

/**
 * A refused request for each kind of handler: the runtime is built (config file, JSONata, SDK
 * clients, Powertools) but the handler answers before calling AWS. The cron functions call AWS
 * at once; their endpoint is a closed local port and one attempt, so the call fails fast.
 */
function firstEvent(name: string): unknown {
  if (name === 'dead-letter') return { Records: [] }
  if (name === 'repair' || name === 'sync-schedule') return {}
  const http = { rawPath: '/cold-start', headers: {}, isBase64Encoded: false, requestContext: { http: { method: name === 'dashboard' || name === 'admin' ? 'GET' : 'POST', sourceIp: '127.0.0.1' } } }
  if (name === 'ingest') return { ...http, pathParameters: { source: 'no-such-source' }, body: '{}' }
  return { ...http, body: '{}' }
}

/**
 * A fresh `node` imports the bundle, then invokes its handler once (firstEvent): prints the import
 * time, the time and CPU time to the first answer (ms), and which of the bundle's files it loaded meanwhile.
 */
const CHILD = `
import { registerHooks } from 'node:module'
const loaded = new Set()
if (process.env.COLD_START_TRACE) registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context) } })
const context = { functionName: 'cold-start', awsRequestId: 'cold-start', getRemainingTimeInMillis: () => 10000 }
const cpu0 = process.cpuUsage()
const t = performance.now()
const { handler } = await import(process.argv[1])
const imported = performance.now()
let outcome
try { outcome = String((await handler(JSON.parse(process.argv[2]), context))?.statusCode ?? 'ok') } catch (error) { outcome = 'threw ' + (error?.name ?? 'error') }
const answered = performance.now()
const cpu = process.cpuUsage(cpu0)
process.stdout.write('\\nCOLD ' + JSON.stringify({ importMs: imported - t, startMs: answered - t, startCpuMs: (cpu.user + cpu.system) / 1000, outcome, loaded: [...loaded] }) + '\\n')
`

interface ColdRun {
  importMs: number
  startMs: number
  /** CPU time (user + system) to the first answer: less sensitive than startMs to other processes on the machine. */
  startCpuMs: number
  outcome: string
  loaded: string[]
}

async function coldRun(bundle: FunctionBundle, env: NodeJS.ProcessEnv): Promise<ColdRun> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CHILD, bundle.entry, JSON.stringify(firstEvent(bundle.name))], { env, maxBuffer: 16 * 1024 * 1024 })
  const line = stdout.split('\n').findLast((text) => text.startsWith('COLD '))
  if (!line) throw new Error(`cold start of ${bundle.name} printed no result: ${stdout.slice(-500)}`)
  return JSON.parse(line.slice('COLD '.length)) as ColdRun
}

/** The environment a deployed function has (sst.config.ts), pointed at nothing that answers. */
function lambdaEnv(dir: string): NodeJS.ProcessEnv {
  // Converted as sst.config.ts converts it at deploy time: the functions read JSON.
  const config = join(dir, DEPLOYED_CONFIG_FILE)
  const yaml = [
    'sources:',
    '  github:',
    '    verify: { scheme: github, secrets: ["${GithubWebhookSecret}"] }',
    '    extract: { recordId: body.issue.id, event: "headers.`x-github-event`" }',
    '  stripe:',
    '    verify: { scheme: stripe, secrets: ["${StripeWebhookSecret}"] }',
    `    extract: { recordId: body.data.object.id, recordType: body.data.object.object, event: body.type }`,
    'agents:',
    `  - { id: edge, tokenSha256: ${'ab'.repeat(32)} }`,
  ].join('\n')
  writeFileSync(config, configYamlToJson(yaml, 'cold-start.yaml'))
  const dashboard = join(dir, 'cold-start-dashboard')
  mkdirSync(dashboard, { recursive: true })
  return {
    PATH: process.env.PATH,
    HOOKFERRY_CONFIG: config,
    HOOKFERRY_RUNTIME: 'aws',
    HOOKFERRY_DASHBOARD_DIR: dashboard,
    SST_RESOURCE_GithubWebhookSecret: JSON.stringify({ value: 'cold-start-github' }),
    SST_RESOURCE_StripeWebhookSecret: JSON.stringify({ value: 'cold-start-stripe' }),
    SST_RESOURCE_Queue: JSON.stringify({ url: 'http://127.0.0.1:9/000000000000/cold-start' }),
    SST_RESOURCE_Ledger: JSON.stringify({ name: 'cold-start' }),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'cold-start',
    AWS_SECRET_ACCESS_KEY: 'cold-start',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_MAX_ATTEMPTS: '1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  }
}

const kb = (bytes: number): string => (bytes / KB).toFixed(0)

/**
 * Block 4: each function in functions/ bundled as SST would; its size (all its files, raw and
 * gzipped, the deployment zip being close to the latter) and how much of it a cold start loads;
 * in a fresh process, the import alone and the import plus a first invocation (the runtime built,
 * the request refused before any AWS call). The floor is a handler that only answers 202, bundled,
 * imported and invoked the same way.
 */
export async function benchColdStart({
  dir,
  imports,
  progress,
  functionsDir = FUNCTIONS_DIR,
  esbuild = SST_ESBUILD_OPTIONS,
}: {
  dir: string
  imports: number
  progress: (line: string) => void
  functionsDir?: string
  esbuild?: BuildOptions
}): Promise<Row[]> {
  const floorSource = join(dir, 'floor-handler.ts')
  writeFileSync(floorSource, "export const handler = async () => ({ statusCode: 202, body: '{\"accepted\":1}' })\n")
  const entries = [floorSource, ...readdirSync(functionsDir).filter((name) => name.endsWith('.ts')).sort().map((name) => join(functionsDir, name))]
  const bundles = await Promise.all(entries.map(async (entry) => bundleFunction(entry, join(dir, 'bundles', basename(entry, '.ts')), esbuild)))
  const env = lambdaEnv(dir)
  // Which files a cold start loads, from one traced run of its own (the trace is not timed).
  const loadedBytes = new Map<string, number>()
  for (const bundle of bundles) {
    const traced = await coldRun(bundle, { ...env, COLD_START_TRACE: '1' })
    const loaded = new Set(traced.loaded.filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url)))
    loadedBytes.set(bundle.name, bundle.files.filter((file) => loaded.has(file.path)).reduce((sum, file) => sum + file.bytes, 0))
  }
  const runs = new Map<string, ColdRun[]>()
  // Interleaved, so a burst of noise on the machine hits every function alike.
  for (let round = 0; round < imports; round += 1) {
    for (const bundle of bundles) {
      const list = runs.get(bundle.name) ?? []
      list.push(await coldRun(bundle, env))
      runs.set(bundle.name, list)
    }
  }
  progress(`4 cold start: ${bundles.length - 1} functions bundled, imported and invoked ${imports}× each`)
  const [floor, ...functions] = bundles
  const totalBytes = (bundle: FunctionBundle): number => bundle.files.reduce((sum, file) => sum + file.bytes, 0)
  const gzipBytes = (bundle: FunctionBundle): number => bundle.files.reduce((sum, file) => sum + gzipSync(readFileSync(file.path)).length, 0)
  const floorRuns = runs.get(floor!.name)!
  const floorImport = summarize(floorRuns.map((entry) => entry.importMs))
  const floorStart = summarize(floorRuns.map((entry) => entry.startMs))
  const floorCpu = summarize(floorRuns.map((entry) => entry.startCpuMs)).median
  const block = '4 cold start'
  return functions.flatMap((bundle) => {
    const list = runs.get(bundle.name)!
    const outcome = list[0]!.outcome
    const cpuMs = summarize(list.map((entry) => entry.startCpuMs)).median
    return [
      valueRow(
        { block, runtime: 'aws', figure: `${bundle.name} bundle (${bundle.files.length} files, gzip ${kb(gzipBytes(bundle))} KB; ${kb(loadedBytes.get(bundle.name)!)} KB loaded by a cold start)`, unit: 'KB' },
        totalBytes(bundle) / KB,
        totalBytes(floor!) / KB,
      ),
      row({ block, runtime: 'aws', figure: `${bundle.name} cold import`, unit: 'ms' }, summarize(list.map((entry) => entry.importMs)), { floor: floorImport.median }),
      row({ block, runtime: 'aws', figure: `${bundle.name} cold import + first invocation (${outcome}; CPU ${cpuMs.toFixed(0)} ms, floor ${floorCpu.toFixed(0)})`, unit: 'ms' }, summarize(list.map((entry) => entry.startMs)), { floor: floorStart.median }),
    ]
  })
}

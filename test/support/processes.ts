import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestScope } from './test-scope.ts'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The `hookferry` command of this checkout (run with the test runner's Node 22). */
export const CLI = fileURLToPath(new URL('../../lib/cli/bin.js', import.meta.url))

const COMPILE_CACHE_DIR = join(tmpdir(), 'hookferry-test-compile-cache')
const READY_TIMEOUT_IN_MS = 15_000
const STOP_GRACE_IN_MS = 5_000
const TAIL_LINES = 40

/** One JSON (pino) log line. */
export interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface SpawnOptions {
  /** Shown in errors and failure output, e.g. "serve" or "agent #2". */
  name: string
  cwd?: string
  /** Added to the test runner's environment. */
  env?: NodeJS.ProcessEnv
  /** Another hookferry executable, e.g. one installed from the package (default: this checkout's). */
  bin?: string
}

/**
 * A `hookferry` child process: its stdout is kept as text and as parsed JSON log lines, its
 * stderr as text; waits are bounded and their errors carry the process's own words.
 */
export class HookferryProcess {
  readonly name: string
  readonly child: ChildProcess
  /** stdout lines that parsed as JSON, in order. */
  readonly logs: LogLine[] = []
  readonly exited: Promise<ProcessExit>
  #stdout = ''
  #stderr = ''
  #partial = ''
  #exit: ProcessExit | undefined
  readonly #changed = new EventEmitter()

  constructor(child: ChildProcess, name: string) {
    this.child = child
    this.name = name
    this.#changed.setMaxListeners(0)
    child.stdout?.on('data', (chunk: Buffer) => this.#onStdout(chunk.toString('utf8')))
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString('utf8')
      this.#changed.emit('change')
    })
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.#exit = { code, signal }
        this.#changed.emit('change')
        resolve(this.#exit)
      })
    })
  }

  get stdout(): string {
    return this.#stdout
  }

  get stderr(): string {
    return this.#stderr
  }

  get running(): boolean {
    return this.#exit === undefined
  }

  /** The JSON log lines with this `msg`. */
  logsWith(msg: string): LogLine[] {
    return this.logs.filter((line) => line.msg === msg)
  }

  /** Resolves with the first log line matching `match` (seen before or after the call). */
  waitForLog(what: string, match: (line: LogLine) => boolean, timeoutMs = READY_TIMEOUT_IN_MS): Promise<LogLine> {
    return this.#waitFor(what, () => this.logs.find(match), timeoutMs)
  }

  /** Resolves with the first match of `pattern` in stdout (plain text, e.g. the demo's narration). */
  waitForOutput(pattern: RegExp, timeoutMs = READY_TIMEOUT_IN_MS): Promise<RegExpExecArray> {
    return this.#waitFor(`output matching ${pattern}`, () => pattern.exec(this.#stdout) ?? undefined, timeoutMs)
  }

  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = STOP_GRACE_IN_MS): Promise<ProcessExit> {
    if (!this.running) return this.exited
    this.child.kill(signal)
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /** SIGKILL: the process gets no chance to finish anything. */
  async kill(): Promise<ProcessExit> {
    if (this.running) this.child.kill('SIGKILL')
    return this.exited
  }

  /** Name, exit status, stderr and the last stdout lines: for errors and failed tests. */
  describe(): string {
    const status = this.#exit ? `exited (code ${this.#exit.code}, signal ${this.#exit.signal})` : 'running'
    const tail = this.#stdout.trimEnd().split('\n').slice(-TAIL_LINES).join('\n')
    return `--- ${this.name} (pid ${this.child.pid}, ${status})\n--- stderr:\n${this.#stderr.trimEnd() || '(empty)'}\n--- last stdout lines:\n${tail || '(empty)'}`
  }

  #onStdout(text: string): void {
    this.#stdout += text
    const lines = (this.#partial + text).split('\n')
    this.#partial = lines.pop() ?? ''
    for (const line of lines) {
      if (!line.startsWith('{')) continue
      try {
        this.logs.push(JSON.parse(line) as LogLine)
      } catch {
        // not a log line
      }
    }
    this.#changed.emit('change')
  }

  #waitFor<T>(what: string, find: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find()
        if (found !== undefined) return finish(() => resolve(found))
        if (this.#exit) finish(() => reject(new Error(`${this.name} exited before ${what}\n${this.describe()}`)))
      }
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} from ${this.name}\n${this.describe()}`))), timeoutMs)
      const finish = (settle: () => void) => {
        clearTimeout(timer)
        this.#changed.off('change', check)
        settle()
      }
      this.#changed.on('change', check)
      check()
    })
  }
}

/**
 * Spawns `node lib/cli/bin.js <args>` with the test runner's Node (22). The process is stopped
 * after the test (SIGTERM, then SIGKILL) and its output is printed if the test fails.
 */
export function spawnHookferry(scope: TestScope, args: string[], options: SpawnOptions): HookferryProcess {
  const child = spawn(process.execPath, [options.bin ?? CLI, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    // The compile cache (a quiet, self-validating optimisation of Node) makes each start cheaper.
    env: { NODE_COMPILE_CACHE: COMPILE_CACHE_DIR, ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const running = new HookferryProcess(child, options.name)
  scope.defer(() => running.stop('SIGTERM', 2_000))
  scope.explainFailure(() => running.describe())
  return running
}

/** `hookferry serve` on an ephemeral port (or `port`, e.g. again after a crash); resolves once it logged its URL. */
export async function startServeProcess(
  scope: TestScope,
  options: { configFile: string; dataDir: string; name?: string; bin?: string; port?: number; args?: string[] },
): Promise<{ process: HookferryProcess; url: string }> {
  const args = ['serve', '--config', options.configFile, '--data-dir', options.dataDir, '--port', String(options.port ?? 0), ...(options.args ?? [])]
  const serve = spawnHookferry(scope, args, { name: options.name ?? 'serve', ...(options.bin ? { bin: options.bin } : {}) })
  const ready = await serve.waitForLog('"hookferry serve is listening"', (line) => line.msg === 'hookferry serve is listening')
  return { process: serve, url: String(ready.agentApiUrl) }
}

/** `hookferry agent`; resolves once it logged that it started (its first poll follows at once). */
export async function startAgentProcess(scope: TestScope, options: { configFile: string; name?: string; env?: NodeJS.ProcessEnv }): Promise<HookferryProcess> {
  const agent = spawnHookferry(scope, ['agent', '--config', options.configFile], { name: options.name ?? 'agent', ...(options.env ? { env: options.env } : {}) })
  await agent.waitForLog('"hookferry agent started"', (line) => line.msg === 'hookferry agent started')
  return agent
}

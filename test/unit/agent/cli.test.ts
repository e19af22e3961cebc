import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { startFakeCloud } from './fake-cloud.ts'
import { tempDir, waitUntil } from './helpers.ts'

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
// The whole command line: main() prints errors and picks the exit code.
const CLI = fileURLToPath(new URL('../../../lib/cli/bin.js', import.meta.url))

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function runAgent(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, 'agent', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { child, exited, stdout: () => stdout, stderr: () => stderr }
}

describe('hookferry agent command', () => {
  it('prints one line per problem naming file, key and expectation for a bad config, and exits 2', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const file = join(dir.path, 'agent.yaml')
    writeFileSync(file, 'cloud: { url: "not a url", token: t }\nconcurrency: 0\nsources: {}\n')
    const run = runAgent(['--config', file])
    expect(await run.exited).toBe(2)
    const [first, second, ...rest] = run.stderr().split('\n')
    expect(first).toBe(`hookferry: ${file}: cloud.url: expected an http(s) URL`)
    expect(second).toMatch(/^hookferry: .+: concurrency: .*1/)
    expect(rest).toEqual([''])
  })

  it('names the config file and key when a user module cannot be loaded', async () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const file = join(dir.path, 'agent.yaml')
    writeFileSync(file, 'cloud: { url: "http://127.0.0.1:1", token: t }\nsources:\n  crm:\n    fetch: { type: payload }\n    deliver: { type: module, module: ./missing.js }\n')
    const run = runAgent(['--config', file])
    expect(await run.exited).toBe(2)
    expect(run.stderr()).toBe(`hookferry: ${file}: sources.crm.deliver.module: cannot load ${join(dir.path, 'missing.js')}: module not found\n`)
  })

  it('runs until SIGTERM, then stops gracefully and exits 0', async () => {
    const cloud = await startFakeCloud()
    cleanups.push(() => cloud.close())
    const dir = tempDir()
    cleanups.push(dir.remove)
    const file = join(dir.path, 'agent.yaml')
    writeFileSync(
      file,
      `cloud: { url: "${cloud.url}", token: "\${TEST_AGENT_TOKEN}", pollWaitSeconds: 5 }
sources:
  crm:
    fetch: { type: payload }
    deliver: { type: file, path: out.ndjson }
`,
    )
    const run = runAgent(['--config', file], { TEST_AGENT_TOKEN: cloud.token })
    await waitUntil(() => cloud.pulls.length > 0, 10_000, 'the first pull')
    const grant = cloud.enqueue({ payload: { id: 1 } })
    await waitUntil(() => cloud.acksOf(grant.lease).length === 1, 10_000, 'the ack')
    run.child.kill('SIGTERM')
    expect(await run.exited).toBe(0)
    expect(run.stdout()).toContain('"msg":"hookferry agent stopped"')
    expect(run.stdout()).not.toContain(cloud.token)
    expect(cloud.heartbeats[0]).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/), inFlight: 0 })
  })
})

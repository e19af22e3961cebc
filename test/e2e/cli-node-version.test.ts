import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLI, HookferryProcess, REPO_ROOT } from '../support/processes.ts'
import { useTestScope } from '../support/test-scope.ts'

/**
 * The bin on a Node older than 22.18 (the system Node of many machines): from a checkout it runs
 * on the project's pinned Node 22; installed from the package it says what to install.
 */
const scope = useTestScope()
const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }

/** The first `node` on PATH (or /usr/bin/node) older than 22.18, if this machine has one. */
function findOldNode(): { path: string; version: string } | undefined {
  const candidates = [...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'node')), '/usr/bin/node', '/usr/local/bin/node']
  for (const path of candidates) {
    if (!existsSync(path)) continue
    try {
      const found = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
      const [major = 0, minor = 0] = found.split('.').map(Number)
      if (major < 22 || (major === 22 && minor < 18)) return { path, version: found }
    } catch {
      // not a runnable node
    }
  }
  return undefined
}

const oldNode = findOldNode()

function runWithOldNode(bin: string, args: string[], name: string, env: NodeJS.ProcessEnv = {}): HookferryProcess {
  const child = spawn(oldNode!.path, [bin, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const running = new HookferryProcess(child, name)
  scope.defer(() => running.stop('SIGTERM', 2_000))
  scope.explainFailure(() => running.describe())
  return running
}

/** bin.js copied to `dir`/<relative>, away from this checkout's node_modules. */
function copyBin(dir: string, relative: string): string {
  const target = join(dir, relative)
  mkdirSync(join(target, '..'), { recursive: true })
  copyFileSync(CLI, target)
  return target
}

describe.skipIf(oldNode === undefined)(`the hookferry bin on an older Node (${oldNode ? `${oldNode.version} at ${oldNode.path}` : 'skipped: no Node older than 22.18 on PATH or in /usr/bin'})`, () => {
  it('runs from a checkout on the pinned Node 22, passing the exit code through', async () => {
    const printed = runWithOldNode(CLI, ['--version'], 'bin --version')
    expect(await printed.exited).toEqual({ code: 0, signal: null })
    expect(printed.stdout.trim()).toBe(version)

    const usage = runWithOldNode(CLI, ['sned'], 'bin sned')
    expect((await usage.exited).code).toBe(2)
    expect(usage.stderr).toMatch(/^hookferry: unknown command 'sned'/)
  })

  it('passes SIGINT and SIGTERM on once, so a long-running command stops gracefully', async () => {
    const dir = scope.tempDir('hookferry-old-node-')
    const config = join(dir, 'hookferry.yaml')
    writeFileSync(config, 'sources:\n  crm:\n    verify: { scheme: none, allowUnsigned: true }\n    extract: { recordId: body.id }\n')
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const serve = runWithOldNode(CLI, ['serve', '--config', config, '--data-dir', join(dir, signal), '--port', '0'], `serve (${signal})`)
      await serve.waitForLog('"hookferry serve is listening"', (line) => line.msg === 'hookferry serve is listening')
      expect(await serve.stop(signal, 10_000)).toEqual({ code: 0, signal: null })
      expect(serve.logsWith('hookferry serve stopped')).toHaveLength(1)
      expect(serve.stderr).toContain(`${signal} received, stopping`)
    }
  })

  it('installed from the package, names the Node it needs, the one found, and the fix', async () => {
    const installed = copyBin(scope.tempDir(), 'node_modules/hookferry/lib/cli/bin.js')
    const run = runWithOldNode(installed, ['--version'], 'installed bin')
    expect((await run.exited).code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(`hookferry needs Node.js 22.18 or newer, you have ${oldNode!.version}: install Node.js 22 (https://nodejs.org, or "nvm install 22") and run hookferry with it\n`)
  })

  it('in a checkout without node_modules, says to run npm install', async () => {
    const bare = copyBin(scope.tempDir(), 'lib/cli/bin.js')
    const run = runWithOldNode(bare, ['--version'], 'bare checkout bin')
    expect((await run.exited).code).toBe(2)
    expect(run.stderr).toBe(`hookferry needs Node.js 22.18 or newer, you have ${oldNode!.version}: run "npm install" in the checkout: it installs the Node 22 that the hookferry command then uses\n`)
  })
})

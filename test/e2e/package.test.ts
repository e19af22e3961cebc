import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { installTarball, npmEnvironment, packCheckout } from '../support/npm-package.ts'
import { startServeProcess } from '../support/processes.ts'
import { useTestScope } from '../support/test-scope.ts'

/** The published package as a user installs it: `npm install hookferry`, then the `hookferry` command. */
const scope = useTestScope()
const run = promisify(execFile)
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

/** Runs the installed bin the way a shell would (its shebang finds this Node 22 first in PATH). */
async function hookferry(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { env: npmEnvironment() })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

describe('the npm package', () => {
  it('installs into a fresh project and runs from the compiled build', { timeout: 240_000 }, async () => {
    const work = scope.tempDir('hookferry-package-')
    const { tarball, files } = await packCheckout(work)

    // The build is in, the sources and tests are not (bin.js picks dist/ when installed).
    expect(files).toEqual(expect.arrayContaining(['lib/cli/bin.js', 'dist/lib/cli/main.js', 'dist/functions/ingest.js', 'dist/dashboard/index.html', 'package.json']))
    expect(files.filter((file) => file.startsWith('test/') || (file.startsWith('lib/') && file !== 'lib/cli/bin.js'))).toEqual([])

    const project = join(work, 'consumer')
    await installTarball(project, tarball)
    const bin = join(project, 'node_modules', '.bin', 'hookferry')

    const help = await hookferry(bin, ['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/^Usage: hookferry /)
    for (const command of ['serve', 'agent', 'send', 'token', 'demo', 'dead-letters']) expect(help.stdout).toContain(`  ${command} `)
    expect((await hookferry(bin, ['--version'])).stdout.trim()).toBe(version)

    const missing = join(project, 'missing.yaml')
    const agent = await hookferry(bin, ['agent', '--config', missing])
    expect(agent).toEqual({ code: 2, stdout: '', stderr: `hookferry: ${missing}: cannot read config: file not found\n` })

    // The Lambda handlers load from dist/ too: the installed server accepts a webhook.
    const config = join(project, 'hookferry.yaml')
    writeFileSync(config, 'sources:\n  crm:\n    verify: { scheme: none, allowUnsigned: true }\n    extract: { recordId: body.id }\n')
    const { url } = await startServeProcess(scope, { configFile: config, dataDir: join(project, 'data'), bin })
    const response = await fetch(`${url}/hooks/crm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"42"}' })
    expect(response.status).toBe(202)
    // ... and serves the dashboard built into the package.
    const dashboard = await fetch(`${url}/ui/`)
    expect([dashboard.status, dashboard.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8'])
  })
})

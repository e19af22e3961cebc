import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { CLI, REPO_ROOT, spawnHookferry } from '../support/processes.ts'
import { useTestScope } from '../support/test-scope.ts'

/** `npm start` (hookferry demo) as a newcomer meets it: start, paste the printed command, watch, Ctrl-C. */
const scope = useTestScope()
const run = promisify(execFile)
const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`

describe('npm start', () => {
  it('prints a send command that works, narrates the delivery, and stops cleanly on Ctrl-C', async () => {
    const dataDir = scope.tempDir('hookferry-demo-')
    // What `npm start` runs, on a free port.
    const demo = spawnHookferry(scope, ['demo', '--port', '0', '--data-dir', dataDir, '--no-auto-changes'], { name: 'demo', cwd: REPO_ROOT })
    const [printed] = await demo.waitForOutput(/^ *npx hookferry send .+$/m)
    // The scheduled job's first run, at start: it lists the customers and delivers them.
    await demo.waitForOutput(/^sync {3}▸ run \w+ of job catch-up started: reading what changed since the beginning$/m)
    await demo.waitForOutput(/^sync {3}✔ 3 changed since the watermark → \d+ delivered, \d+ unchanged .+ → checkpoint \S+ \/ cus_\d$/m)

    // The printed command, run from the same folder, with this checkout's CLI in place of npx.
    const command = printed.trim().replace(/^npx hookferry /, `${quote(process.execPath)} ${quote(CLI)} `)
    const sent = await run('/bin/sh', ['-c', command], { cwd: REPO_ROOT })
    expect(sent.stdout).toMatch(/^202 \{"accepted":1,"requests":\["[0-9a-f-]+"\]\}/)

    await demo.waitForOutput(/^sink {3}◂ received cus_2 /m)
    // Delivered by the run or by this webhook; once delivered, the same content is recognised.
    await demo.waitForOutput(/^agent {2}[✔⟲] cus_2 \(request /m)

    const exit = await demo.stop('SIGINT', 5_000)
    expect(exit).toEqual({ code: 0, signal: null })
    expect(demo.stderr).toContain('SIGINT received, stopping')
  })
})

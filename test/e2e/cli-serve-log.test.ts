import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { spawnHookferry, startServeProcess } from '../support/processes.ts'
import { useTestScope } from '../support/test-scope.ts'

/** What `hookferry serve` and the demo leave in their logs from start to stop. */
const scope = useTestScope()

const logLines = (text: string) => text.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; name: string })

describe('the serve log', () => {
  it('hookferry serve ends with a "stopped" line (JSON on stdout, a plain line on stderr)', async () => {
    const dir = scope.tempDir('hookferry-serve-log-')
    const configFile = join(dir, 'hookferry.yaml')
    writeFileSync(configFile, 'sources:\n  crm:\n    verify: { scheme: none, allowUnsigned: true }\n    extract: { recordId: body.id }\n')
    const { process: serve } = await startServeProcess(scope, { configFile, dataDir: join(dir, 'data') })
    expect(await serve.stop('SIGTERM', 5_000)).toEqual({ code: 0, signal: null })
    expect(serve.logs.at(0)?.msg).toBe('hookferry serve is listening')
    expect(serve.logs.at(-1)?.msg).toBe('hookferry serve stopped')
    expect(serve.stderr.trimEnd().split('\n').at(-1)).toBe('hookferry serve: stopped')
  })

  it('the demo writes serve\'s lines to the serve.log its banner names', async () => {
    const dataDir = scope.tempDir('hookferry-demo-log-')
    const demo = spawnHookferry(scope, ['demo', '--port', '0', '--data-dir', dataDir, '--no-auto-changes'], { name: 'demo' })
    await demo.waitForOutput(/Logs: serve\.log, agent\.log there\./)
    expect(logLines(readFileSync(join(dataDir, 'serve.log'), 'utf8')).at(0)).toMatchObject({ name: 'hookferry-serve', msg: 'hookferry serve is listening' })
    expect(await demo.stop('SIGINT', 5_000)).toEqual({ code: 0, signal: null })
    expect(logLines(readFileSync(join(dataDir, 'serve.log'), 'utf8')).at(-1)).toMatchObject({ name: 'hookferry-serve', msg: 'hookferry serve stopped' })
    expect(logLines(readFileSync(join(dataDir, 'agent.log'), 'utf8')).at(-1)).toMatchObject({ msg: 'hookferry agent stopped' })
  })
})

import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadYamlConfig } from '../../lib/config/load-yaml.ts'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { sha256Hex } from '../../lib/relay/agent-auth.ts'
import { silentLog } from '../../lib/relay/deps.ts'
import { startServer } from '../../lib/server/serve.ts'
import { spawnHookferry } from '../support/processes.ts'
import { useTestScope, type TestScope } from '../support/test-scope.ts'

/** The exit codes every command follows (README, "Exit codes"): 0 done, 1 the server refused or failed, 2 usage/config/input. */
const scope = useTestScope()
const ADMIN_TOKEN = 'hfx_exit-code-tests'
const CONFIG = `sources:
  crm:
    verify: { scheme: hmac, header: x-signature, secrets: [crm-secret] }
    extract: { recordId: body.id }
adminTokenSha256: ${sha256Hex(ADMIN_TOKEN)}
`

async function startCloud(scope: TestScope): Promise<{ url: string; configFile: string }> {
  const dir = scope.tempDir('hookferry-exit-')
  const configFile = join(dir, 'hookferry.yaml')
  writeFileSync(configFile, CONFIG)
  const config = loadYamlConfig(serverConfigSchema, configFile)
  const server = await startServer({ config, dataDir: join(dir, 'data'), port: 0, log: silentLog })
  scope.defer(() => server.close())
  return { url: server.url, configFile }
}

/** A port that was free a moment ago and has nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Runs `hookferry <args>` to its end. */
async function hookferry(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = spawnHookferry(scope, args, { name: `hookferry ${args[0]}`, env: { HOOKFERRY_URL: '', HOOKFERRY_ADMIN_TOKEN: '', ...env } })
  const { code } = await run.exited
  return { code, stdout: run.stdout, stderr: run.stderr }
}

/** One line, the convention's prefix, no stack trace and no doubled "Error:". */
function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr.split('\n')).toEqual([expect.stringMatching(/^hookferry: /), ''])
  expect(stderr).toMatch(pattern)
  expect(stderr).not.toMatch(/Error:|\bat .*:\d+:\d+/)
}

describe('hookferry exit codes', () => {
  it('0: the command did what was asked', async () => {
    const { url, configFile } = await startCloud(scope)
    const sent = await hookferry(['send', '--config', configFile, '--source', 'crm', '--data', '{"id":"c1"}'], { HOOKFERRY_URL: url })
    expect(sent).toMatchObject({ code: 0, stderr: '' })
    expect(sent.stdout).toMatch(/^202 \{"accepted":1/)
    expect((await hookferry(['--version'])).code).toBe(0)
    expect((await hookferry(['send', '--help'])).code).toBe(0)
  })

  it('2: commander\'s own errors (unknown option, invalid value, missing option, unknown command) print one hookferry: line', async () => {
    const cases: [string[], RegExp][] = [
      [['requests', '--bogus'], /unknown option '--bogus' \(see "hookferry requests --help"\)/],
      [['requests', '--since', 'yesterday'], /option '--since <time>' argument 'yesterday' is invalid\. expected an ISO time/],
      [['requests', '--limit', '5000'], /argument '5000' is invalid\. expected a whole number from 1 to 1000/],
      [['discard', 'some-id'], /required option '--reason <text>' not specified/],
      [['sned'], /unknown command 'sned'/],
      // Two levels down, the same convention.
      [['sync', 'start', 'crm/nightly', '--bogus'], /unknown option '--bogus' \(see "hookferry sync start --help"\)/],
      [['runs', 'show'], /missing required argument 'id' \(see "hookferry runs show --help"\)/],
    ]
    for (const [args, pattern] of cases) {
      const run = await hookferry(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stdout).toBe('')
      expectOneLine(run.stderr, pattern)
    }
  })

  it('2: a config, input or usage problem is reported before anything is sent', async () => {
    const dir = scope.tempDir()
    const missing = join(dir, 'missing.yaml')
    const noConfig = await hookferry(['send', '--config', missing, '--source', 'crm'])
    expect(noConfig.code).toBe(2)
    expectOneLine(noConfig.stderr, new RegExp(`${missing}: cannot read config: file not found`))

    const { configFile } = await startCloud(scope)
    const event = await hookferry(['send', '--config', configFile, '--source', 'crm', '--event', 'crm.updated'])
    expect(event.code).toBe(2)
    expectOneLine(event.stderr, /--event: source "crm" uses the hmac scheme, and it has no provider event header: .* --header name:value/)

    const noFile = await hookferry(['send', '--config', configFile, '--source', 'crm', '--file', join(dir, 'nope.json')])
    expect(noFile.code).toBe(2)
    expectOneLine(noFile.stderr, /--file .*nope\.json: cannot read it: file not found/)

    const noToken = await hookferry(['agents'])
    expect(noToken.code).toBe(2)
    expectOneLine(noToken.stderr, /no admin token: set HOOKFERRY_ADMIN_TOKEN/)
  })

  it('1: the server refused (4xx) or could not be reached', async () => {
    const { url, configFile } = await startCloud(scope)
    const refused = await hookferry(['send', '--config', configFile, '--source', 'crm', '--data', '{"id":"c1"}', '--header', 'x-signature: wrong'], { HOOKFERRY_URL: url })
    expect(refused.code).toBe(1)
    expect(refused.stdout).toMatch(/^401 \{"error":\{"code":"source\.signature_invalid"/)
    expectOneLine(refused.stderr, /^hookferry: the server answered 401 source\.signature_invalid: /)

    const notFound = await hookferry(['show', 'no-such-request'], { HOOKFERRY_URL: url, HOOKFERRY_ADMIN_TOKEN: ADMIN_TOKEN })
    expect(notFound.code).toBe(1)
    expectOneLine(notFound.stderr, /no-such-request/)

    // A port nothing listens on: the socket's own words, once.
    const down = await hookferry(['send', '--config', configFile, '--source', 'crm', '--url', `http://127.0.0.1:${await closedPort()}`])
    expect(down.code).toBe(1)
    expectOneLine(down.stderr, /^hookferry: cannot reach http:\/\/127\.0\.0\.1:\d+\/hooks\/crm: /)
  })
})

import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { loadYamlConfig } from '../../lib/config/load-yaml.ts'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { sha256Hex } from '../../lib/relay/agent-auth.ts'
import { CLI, REPO_ROOT, spawnHookferry } from '../support/processes.ts'
import { useTestScope } from '../support/test-scope.ts'

/** The README's `hookferry send` commands, run as printed against the example config and a real `hookferry serve`. */
const scope = useTestScope()
const run = promisify(execFile)
const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`
const EXAMPLE_CONFIG = 'examples/server/hookferry.yaml'

// Throwaway values for the secrets the example config reads from the environment (README: "Running it on one machine").
const SECRETS: NodeJS.ProcessEnv = {
  STRIPE_WEBHOOK_SECRET: 'whsec_try',
  GITHUB_WEBHOOK_SECRET: 'try',
  SHOPIFY_API_SECRET: 'try',
  SLACK_SIGNING_SECRET: 'try',
  CLERK_WEBHOOK_SECRET: 'whsec_dHJ5LWl0LW91dA==',
  SALESFORCE_SHARED_TOKEN: 'try',
  ERP_SECRET: 'try',
  AGENT_TOKEN_SHA256: sha256Hex('hfa_readme-try'),
}

const readmeSends = [...readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').matchAll(/^npx hookferry send --config examples\/server\/hookferry\.yaml .+$/gm)].map(([line]) => line)

async function startExampleServer(): Promise<string> {
  const serve = spawnHookferry(scope, ['serve', '--config', EXAMPLE_CONFIG, '--data-dir', scope.tempDir('hookferry-send-'), '--port', '0'], { name: 'serve', env: SECRETS })
  const ready = await serve.waitForLog('"hookferry serve is listening"', (line) => line.msg === 'hookferry serve is listening')
  return String(ready.agentApiUrl)
}

/** Runs a README line from the repository root, with this checkout's CLI in place of npx. */
async function runLine(line: string, url: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = line.replace(/^npx hookferry /, `${quote(process.execPath)} ${quote(CLI)} `)
  try {
    const { stdout, stderr } = await run('/bin/sh', ['-c', command], { cwd: REPO_ROOT, env: { ...process.env, ...SECRETS, HOOKFERRY_URL: url } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

describe('hookferry send with the example config', () => {
  it('the README has one send command per source of the example config', () => {
    const sources = Object.keys(loadYamlConfig(serverConfigSchema, join(REPO_ROOT, EXAMPLE_CONFIG), { ...process.env, ...SECRETS }).sources)
    const sent = readmeSends.map((line) => /--source (\S+)/.exec(line)?.[1])
    expect([...new Set(sent)].sort()).toEqual([...sources].sort())
  })

  it('every README send command (github with --event, shopify with its topic) is accepted with a 202', { timeout: 30_000 }, async () => {
    const url = await startExampleServer()
    // At once: the sync source (erp-lookup) waits out its 8 s for an agent before its 202.
    const results = await Promise.all(readmeSends.map((line) => runLine(line, url)))
    for (const [index, result] of results.entries()) {
      expect(result, readmeSends[index]).toEqual({ code: 0, stdout: expect.stringMatching(/^202 \{"accepted":1,"requests":\["[0-9a-f-]{36}"\]\}\n$/), stderr: '' })
    }
  })

  it('without --event, GitHub\'s filter ignores the event: the header is what names it', async () => {
    const url = await startExampleServer()
    const github = readmeSends.find((line) => line.includes('--source github'))!
    expect(github).toContain('--event issues')
    const result = await runLine(github.replace(' --event issues', ''), url)
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^200 \{"ignored":true,/)
  })
})

import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { spawnHookferry } from '../support/processes.ts'
import { useTestScope } from '../support/test-scope.ts'

/** `hookferry agent` with a bad config: one line naming the file and the key, exit 2, nothing started. */
const scope = useTestScope()

async function runAgentWith(yaml: string) {
  const file = join(scope.tempDir(), 'agent.yaml')
  writeFileSync(file, yaml)
  const agent = spawnHookferry(scope, ['agent', '--config', file], { name: 'agent' })
  const exit = await agent.exited
  return { file, exit, stdout: agent.stdout, stderr: agent.stderr }
}

const SOURCES = 'sources:\n  crm:\n    fetch: { type: payload }\n    deliver: { type: file, path: ./out.ndjson }\n'

describe('hookferry agent with a bad config', () => {
  it('names the file and a misspelt key instead of ignoring it', async () => {
    const { file, exit, stdout, stderr } = await runAgentWith(`cloud: { url: "http://127.0.0.1:9", token: t }\nconcurency: 8\n${SOURCES}`)

    expect(exit).toEqual({ code: 2, signal: null })
    expect(stderr).toBe(`hookferry: ${file}: (top level): Unrecognized key: "concurency"\n`)
    expect(stdout).toBe('')
  })

  it('names the file and the dotted key of a value out of range', async () => {
    const { file, exit, stdout, stderr } = await runAgentWith(`cloud: { url: "http://127.0.0.1:9", token: t, leaseSeconds: 1 }\n${SOURCES}`)

    expect(exit).toEqual({ code: 2, signal: null })
    expect(stderr.split('\n')).toEqual([expect.stringMatching(new RegExp(`^hookferry: ${file.replaceAll('/', '\\/')}: cloud\\.leaseSeconds: .+`)), ''])
    expect(stderr).not.toMatch(/\n\s+at /)
    expect(stdout).toBe('')
  })
})

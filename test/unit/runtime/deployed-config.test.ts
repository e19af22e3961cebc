import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseYamlConfig } from '../../../lib/config/load-yaml.ts'
import { serverConfigSchema } from '../../../lib/config/server-config.ts'
import { ConfigError } from '../../../lib/errors.ts'
import { configYamlToJson } from '../../../lib/runtime/deploy-config.ts'
import { loadJsonConfig } from '../../../lib/runtime/json-config.ts'

/** sst.config.ts converts the YAML config to JSON at deploy time; the Lambda must end with the very same config. */
const dir = mkdtempSync(join(tmpdir(), 'hookferry-deployed-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const yaml = `# comments and anchors are YAML-only; the tree is what counts
sources:
  github:
    verify: &github { scheme: github, secrets: ["\${GithubWebhookSecret}", "\${OLD_SECRET:-gh-old}"] }
    extract: { recordId: body.issue.id, event: "headers.\`x-github-event\`" }
  github-enterprise:
    verify: *github
    extract: { recordId: body.issue.id }
  stripe:
    verify: { scheme: stripe, secrets: ["\${StripeWebhookSecret}"], toleranceSeconds: 120 }
    extract: { recordId: body.data.object.id, recordType: body.data.object.object, event: body.type }
agents:
  - { id: edge, tokenSha256: "${'ab'.repeat(32)}" }
`
const env = { SST_RESOURCE_GithubWebhookSecret: JSON.stringify({ value: 'gh-secret' }), SST_RESOURCE_StripeWebhookSecret: JSON.stringify({ value: 'st-secret' }) }

const writeJson = (name: string, text: string): string => {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

describe('the deploy-time JSON config', () => {
  it('keeps ${Name} references for the function to resolve: no secret is written at deploy time', () => {
    const json = configYamlToJson(yaml, 'hookferry.yaml')
    expect(json).toContain('${GithubWebhookSecret}')
    expect(json).not.toContain('gh-secret')
  })

  it('loads into exactly the config the YAML file gives', () => {
    const file = writeJson('same.json', configYamlToJson(yaml, 'hookferry.yaml'))
    const deployed = loadJsonConfig(serverConfigSchema, file, env)
    expect(deployed).toEqual(parseYamlConfig(serverConfigSchema, yaml, 'hookferry.yaml', env))
    expect(deployed.sources['github-enterprise']!.verify).toEqual(deployed.sources.github!.verify)
    expect(deployed.sources.github!.verify).toMatchObject({ secrets: ['gh-secret', 'gh-old'] })
  })

  it('fails the deploy on a YAML syntax error, with file:line:column', () => {
    expect(() => configYamlToJson('sources:\n  github:\n    verify: { scheme: github\n', 'hookferry.yaml')).toThrow(/^hookferry\.yaml:\d+:\d+: invalid YAML/)
  })

  it('refuses a value JSON cannot carry instead of changing it', () => {
    expect(() => configYamlToJson('limits: { maxBodyBytes: .inf }\n', 'hookferry.yaml')).toThrow(new ConfigError('hookferry.yaml: limits.maxBodyBytes is Infinity, which the deployed (JSON) config cannot hold'))
  })

  it('reports a missing file, bad JSON and a missing secret as config errors naming the file', () => {
    expect(() => loadJsonConfig(serverConfigSchema, join(dir, 'absent.json'), env)).toThrow(/absent\.json: cannot read config: file not found/)
    expect(() => loadJsonConfig(serverConfigSchema, writeJson('bad.json', '{"sources": '), env)).toThrow(/bad\.json: invalid JSON: /)
    const file = writeJson('no-secret.json', configYamlToJson(yaml, 'hookferry.yaml'))
    expect(() => loadJsonConfig(serverConfigSchema, file, {})).toThrow(ConfigError)
  })
})

import { describe, expect, it } from 'vitest'
import { parseYamlConfig } from '../../../lib/config/load-yaml.ts'
import { serverConfigSchema } from '../../../lib/config/server-config.ts'
import { ConfigError } from '../../../lib/errors.ts'

const messageOf = (run: () => unknown): string => {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a ConfigError')
}

const config = `sources:
  github:
    verify: { scheme: github, secrets: ["\${GITHUB_SECRET}", "\${GITHUB_OLD_SECRET:-}"] }
    extract: { recordId: body.issue.node_id }
  stripe:
    verify: { scheme: stripe, secrets: ["\${STRIPE_SECRET}"] }
    extract: { recordId: body.data.object.id }
agents:
  - { id: onprem-1, tokenSha256: "\${AGENT_TOKEN_SHA256}" }
`

describe('config file loading', () => {
  it('reports every missing environment variable in one message, with file and key', () => {
    const message = messageOf(() => parseYamlConfig(serverConfigSchema, config, 'hookferry.yaml', {}))
    expect(message.split('\n')).toEqual([
      'hookferry.yaml: sources.github.verify.secrets.0: environment variable GITHUB_SECRET is not set (referenced as ${GITHUB_SECRET})',
      'hookferry.yaml: sources.stripe.verify.secrets.0: environment variable STRIPE_SECRET is not set (referenced as ${STRIPE_SECRET})',
      'hookferry.yaml: agents.0.tokenSha256: environment variable AGENT_TOKEN_SHA256 is not set (referenced as ${AGENT_TOKEN_SHA256})',
      'hookferry.yaml: set GITHUB_SECRET, STRIPE_SECRET, AGENT_TOKEN_SHA256 (or give defaults as ${NAME:-value})',
    ])
  })

  it('uses defaults and the environment when they are there', () => {
    const env = { GITHUB_SECRET: 'g', STRIPE_SECRET: 's', AGENT_TOKEN_SHA256: 'a'.repeat(64) }
    const parsed = parseYamlConfig(serverConfigSchema, config.replace(', "${GITHUB_OLD_SECRET:-}"', ''), 'hookferry.yaml', env)
    expect(parsed.sources.github!.verify).toMatchObject({ secrets: ['g'] })
  })

  it('names the line and column of invalid YAML', () => {
    const message = messageOf(() => parseYamlConfig(serverConfigSchema, 'sources:\n  github:\n    verify: { scheme: github\n  stripe: {}\n', 'hookferry.yaml', {}))
    expect(message).toMatch(/^hookferry\.yaml:\d+:\d+: invalid YAML: /)
    expect(message).not.toContain('\n    at ')
  })
})

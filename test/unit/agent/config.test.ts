import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadAgentConfig, parseAgentConfig } from '../../../lib/agent/load-agent-config.ts'
import { ConfigError } from '../../../lib/errors.ts'

const minimal = `
cloud:
  url: https://relay.example.com
  token: \${AGENT_TOKEN}
sources:
  stripe:
    fetch: { type: http, url: "https://api.stripe.com/v1/customers/{id}", auth: { type: bearer, token: sk_test } }
    deliver: { type: http, url: "http://erp.local/customers" }
`

function problem(text: string, env: NodeJS.ProcessEnv = { AGENT_TOKEN: 't' }): string {
  try {
    parseAgentConfig(text, '/etc/hookferry/agent.yaml', env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('agent config', () => {
  it('fills in every default', () => {
    const config = parseAgentConfig(minimal, '/etc/hookferry/agent.yaml', { AGENT_TOKEN: 'secret-token' })
    expect(config.cloud).toEqual({ url: 'https://relay.example.com', token: 'secret-token', leaseSeconds: 60, pollWaitSeconds: 20 })
    expect(config.concurrency).toBe(4)
    expect(config.log.level).toBe('info')
    expect(config.health).toBeUndefined()
    const stripe = config.sources.stripe!
    expect(stripe.fetch).toMatchObject({ type: 'http', method: 'GET', headers: {}, timeoutMs: 10_000 })
    expect(stripe.deliver).toMatchObject({ type: 'http', method: 'POST', format: 'record', timeoutMs: 10_000 })
    expect(stripe.loopPrevention).toEqual({ enabled: true, ignoreFields: [], forgetAfterDays: 90 })
  })

  it('resolves dataDir, modules and file sinks relative to the config file', () => {
    const config = parseAgentConfig(
      `cloud: { url: "http://localhost:8787", token: t }
dataDir: state
sources:
  a:
    fetch: { type: payload }
    transform: { module: ./transforms/a.ts }
    deliver: { type: file, path: out/a.ndjson }
  b:
    fetch: { type: payload }
    deliver: { type: module, module: ../sinks/b.js, export: deliver }`,
      '/etc/hookferry/agent.yaml',
    )
    expect(config.dataDir).toBe('/etc/hookferry/state')
    expect(config.baseDir).toBe('/etc/hookferry')
    expect(config.sources.a!.transform!.module).toBe('/etc/hookferry/transforms/a.ts')
    expect(config.sources.a!.deliver).toEqual({ type: 'file', path: '/etc/hookferry/out/a.ndjson' })
    expect(config.sources.b!.deliver).toEqual({ type: 'module', module: '/etc/sinks/b.js', export: 'deliver' })
  })

  it('defaults dataDir to .hookferry-agent beside the config file', () => {
    expect(parseAgentConfig(minimal, '/srv/agent.yaml', { AGENT_TOKEN: 't' }).dataDir).toBe('/srv/.hookferry-agent')
  })

  it('names the file and the key of a missing secret', () => {
    expect(problem(minimal, {})).toBe('/etc/hookferry/agent.yaml: cloud.token: environment variable AGENT_TOKEN is not set (referenced as ${AGENT_TOKEN})')
  })

  it('names the file, the key and what was expected for a bad value', () => {
    expect(problem(minimal.replace('https://relay.example.com', 'relay'))).toBe('/etc/hookferry/agent.yaml: cloud.url: expected an http(s) URL')
    expect(problem(`${minimal}concurrency: 1000\n`)).toMatch(/^\/etc\/hookferry\/agent.yaml: concurrency: .*256/)
  })

  it('rejects an unknown placeholder in a fetch URL', () => {
    expect(problem(minimal.replace('{id}', '{customerId}'))).toContain('sources.stripe.fetch.url: unknown placeholder {customerId}: expected one of {id}, {type}, {event}, {requestId}, {source}')
  })

  it('rejects invalid JSONata when the config loads', () => {
    const text = minimal.replace('    deliver:', '    transform: { jsonata: "record.(" }\n    deliver:')
    expect(problem(text)).toMatch(/sources\.stripe\.transform\.jsonata: expected a valid JSONata expression/)
  })

  it('wants exactly one of jsonata and module in a transform', () => {
    const text = minimal.replace('    deliver:', '    transform: { jsonata: "record", module: ./t.js }\n    deliver:')
    expect(problem(text)).toContain('sources.stripe.transform: give either jsonata or module (not both)')
  })

  it('names an unknown auth type', () => {
    expect(problem(minimal.replace('type: bearer', 'type: digest'))).toContain('sources.stripe.fetch.auth.type:')
  })

  it('reports a missing file by name', () => {
    expect(() => loadAgentConfig(join('/nonexistent', 'agent.yaml'))).toThrow('/nonexistent/agent.yaml: cannot read config: file not found')
  })

  it('accepts every auth kind', () => {
    const config = parseAgentConfig(
      `cloud: { url: "http://localhost:8787", token: t }
sources:
  a:
    fetch: { type: http, url: "http://x/{id}", auth: { type: basic, username: u, password: p } }
    deliver: { type: file, path: a.ndjson }
  b:
    fetch: { type: http, url: "http://x/{id}", auth: { type: header, name: X-Api-Key, value: k } }
    deliver: { type: file, path: b.ndjson }
  c:
    fetch: { type: http, url: "http://x/{id}", auth: { type: oauth2, tokenUrl: "http://x/token", clientId: id, clientSecret: s, scope: read } }
    deliver: { type: file, path: c.ndjson }`,
      '/a/agent.yaml',
    )
    expect(config.sources.c!.fetch).toMatchObject({ auth: { type: 'oauth2', clientAuthentication: 'basic', scope: 'read' } })
  })
})

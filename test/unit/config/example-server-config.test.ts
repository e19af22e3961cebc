import { describe, expect, it } from 'vitest'
import { loadYamlConfig } from '../../../lib/config/load-yaml.ts'
import { serverConfigSchema } from '../../../lib/config/server-config.ts'
import { ConfigError } from '../../../lib/errors.ts'
import { compileAllSources } from '../../../lib/relay/compiled-sources.ts'

const file = new URL('../../../examples/server/hookferry.yaml', import.meta.url).pathname
const env = {
  STRIPE_WEBHOOK_SECRET: 'a', GITHUB_WEBHOOK_SECRET: 'b', SHOPIFY_API_SECRET: 'c', SLACK_SIGNING_SECRET: 'd',
  CLERK_WEBHOOK_SECRET: 'whsec_ZGVm', SALESFORCE_SHARED_TOKEN: 'e', ERP_SECRET: 'f', AGENT_TOKEN_SHA256: '0'.repeat(64),
}

describe('examples/server/hookferry.yaml', () => {
  it('is a valid server config whose expressions all compile', () => {
    const config = loadYamlConfig(serverConfigSchema, file, env)
    expect(() => compileAllSources(config)).not.toThrow()
    expect(Object.keys(config.sources)).toEqual(['stripe', 'github', 'shopify', 'slack', 'clerk', 'salesforce', 'erp-lookup'])
  })

  it('names the missing secret, file and key when a variable is not set', () => {
    const { STRIPE_WEBHOOK_SECRET: _omitted, ...rest } = env
    expect(() => loadYamlConfig(serverConfigSchema, file, rest)).toThrow(ConfigError)
    expect(() => loadYamlConfig(serverConfigSchema, file, rest)).toThrow(/hookferry\.yaml: sources\.stripe\.verify\.secrets\.0: environment variable STRIPE_WEBHOOK_SECRET is not set/)
  })
})

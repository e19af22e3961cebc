import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { HttpClient } from '../../../lib/agent/http-client.ts'
import { loadAgentConfig } from '../../../lib/agent/load-agent-config.ts'
import { buildSources, closeSources } from '../../../lib/agent/source-runtime.ts'

const sample = fileURLToPath(new URL('../../../examples/agent/agent.yaml', import.meta.url))
const env = { HOOKFERRY_AGENT_TOKEN: 'agent-token', STRIPE_API_KEY: 'sk_test', ERP_TOKEN: 'erp', GITHUB_TOKEN: 'ghp_x' }

describe('the sample agent config (examples/agent/agent.yaml)', () => {
  it('is valid and builds every source, including its transform module', async () => {
    const config = loadAgentConfig(sample, env)
    expect(Object.keys(config.sources)).toEqual(['stripe', 'github'])
    expect(config.cloud.url).toBe('http://127.0.0.1:8787')
    const http = new HttpClient()
    const sources = await buildSources(config.sources, { http })
    try {
      const transform = sources.get('github')!.transform!
      expect(await transform({ number: 7, title: 'Bug', state: 'open', body: null, user: { login: 'ada' }, labels: [{ name: 'p1' }], updated_at: 'x', comments: 0 }, { requestId: 'r', source: 'github', recordId: '7', attempt: 1 })).toMatchObject({
        key: 'GH-7',
        status: 'OPEN',
        tags: ['p1'],
      })
    } finally {
      await closeSources(sources)
      await http.close()
    }
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AgentApiClient } from '../../../lib/agent/api-client.ts'
import { HttpClient, type FetchLike } from '../../../lib/agent/http-client.ts'
import { startFakeCloud, type FakeCloud } from './fake-cloud.ts'

let cloud: FakeCloud
const http = new HttpClient()

beforeAll(async () => {
  cloud = await startFakeCloud()
})
afterAll(async () => {
  await Promise.all([cloud.close(), http.close()])
})

const client = (token = cloud.token) => new AgentApiClient({ baseUrl: `${cloud.url}/`, token, http })

describe('agent api client', () => {
  it('pulls leases with the bearer token', async () => {
    const grant = cloud.enqueue({ recordId: 'r1' })
    expect(await client().pull({ max: 3, waitSeconds: 1, leaseSeconds: 30 })).toEqual({ leases: [grant] })
    expect(cloud.pulls.at(-1)).toEqual({ max: 3, waitSeconds: 1, leaseSeconds: 30 })
  })

  it('sends acks, extensions and heartbeats', async () => {
    expect(await client().ack([{ lease: 'l1', outcome: 'done', note: 'unchanged' }])).toEqual({ results: [{ lease: 'l1', status: 'ok' }] })
    expect((await client().extend([{ lease: 'l1', seconds: 60 }])).results[0]).toMatchObject({ lease: 'l1', status: 'ok' })
    expect(await client().heartbeat({ version: '1.2.3', hostname: 'box', inFlight: 2 })).toMatchObject({ agentId: 'test-agent' })
    expect(cloud.heartbeats.at(-1)).toEqual({ version: '1.2.3', hostname: 'box', inFlight: 2 })
  })

  it('reports a rejected token clearly, as not retryable', async () => {
    const error = await client('wrong').heartbeat({ version: '1', inFlight: 0 }).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 'agent.token_rejected', retryable: false })
    expect((error as Error).message).toMatch(new RegExp(`^agent token rejected by ${cloud.url} \\(HTTP 401: agent.unauthorized: invalid agent token\\)`))
    expect((error as Error).message).not.toContain('wrong')
  })

  it('reports a 503 with Retry-After as retryable after that delay', async () => {
    cloud.failWith({ status: 503, code: 'storage.unavailable', retryAfter: '5' })
    try {
      const error = await client().pull({ max: 1, waitSeconds: 0 }).catch((caught: unknown) => caught)
      expect(error).toMatchObject({ code: 'agent.cloud_unavailable', retryable: true, retryAfterSeconds: 5 })
      expect((error as Error).message).toContain('HTTP 503: storage.unavailable: fake cloud says storage.unavailable')
    } finally {
      cloud.failWith(undefined)
    }
  })

  it('reports a refused call (400) as not retryable', async () => {
    cloud.failWith({ status: 400, code: 'request.invalid' })
    try {
      await expect(client().ack([{ lease: 'l', outcome: 'release' }])).rejects.toMatchObject({ code: 'agent.cloud_rejected', retryable: false })
    } finally {
      cloud.failWith(undefined)
    }
  })

  it('waits out an empty long poll instead of timing it out', async () => {
    expect(await client().pull({ max: 1, waitSeconds: 1 })).toEqual({ leases: [] })
  })

  it('works with an injected fetch', async () => {
    const seen: string[] = []
    const fetch: FetchLike = async (url) => {
      seen.push(url)
      return { status: 200, headers: new Headers(), text: async () => '{"leases":[]}' }
    }
    const injected = new AgentApiClient({ baseUrl: 'https://relay.example.com/', token: 't', http: new HttpClient({ fetch }) })
    expect(await injected.pull({ max: 1, waitSeconds: 20 })).toEqual({ leases: [] })
    expect(seen).toEqual(['https://relay.example.com/agent/v1/pull'])
  })

  it('ends a long poll early when its signal aborts', async () => {
    const controller = new AbortController()
    const pending = client().pull({ max: 1, waitSeconds: 20 }, controller.signal)
    setTimeout(() => controller.abort(), 50)
    await expect(pending).rejects.toMatchObject({ code: 'agent.aborted' })
  })
})

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import { sha256Hex } from '../../lib/relay/agent-auth.ts'
import { silentLog } from '../../lib/relay/deps.ts'
import { startServer, type RunningServer } from '../../lib/server/serve.ts'
import { signWebhook } from '../../lib/sources/sign.ts'

/** The public HTTP contract (ARCHITECTURE.md), status by status, over real HTTP against `serve`. */
const AGENT_TOKEN = 'agent-token-for-tests'
const config = parseWithSchema(
  serverConfigSchema,
  {
    sources: {
      github: {
        verify: { scheme: 'github', secrets: ['gh-secret'] },
        extract: { recordId: 'body.issue.id', recordType: "'issue'", event: "headers.`x-github-event` & '.' & body.action" },
        filter: { include: ['issues.*'], exclude: ['issues.deleted'] },
      },
      stripe: {
        verify: { scheme: 'stripe', secrets: ['whsec_stripe'] },
        extract: { recordId: 'body.data.object.id', event: 'body.type' },
      },
      slack: {
        verify: { scheme: 'slack', secrets: ['slack-secret'] },
        extract: { recordId: 'body.event.channel', event: 'body.event.type' },
      },
      forms: {
        verify: { scheme: 'token', secrets: ['form-token'] },
        extract: { recordId: 'body.record' },
      },
      svix: {
        verify: { scheme: 'standard-webhooks', secrets: [`whsec_${Buffer.from('a 24-byte test key......').toString('base64')}`] },
        extract: { recordId: 'body.data.id' },
      },
    },
    agents: [{ id: 'agent-1', tokenSha256: sha256Hex(AGENT_TOKEN) }],
    limits: { maxBodyBytes: 4096 },
  },
  'test config',
)

let server: RunningServer
let dataDir: string
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hookferry-serve-'))
  server = await startServer({ config, dataDir, port: 0, log: silentLog })
})
afterAll(async () => {
  await server.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const post = async (path: string, body: string | Buffer, headers: Record<string, string>) => {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers, body })
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> }
}
const signed = (source: 'github' | 'stripe' | 'slack', body: unknown, extra: Record<string, string> = {}) => {
  const raw = Buffer.from(JSON.stringify(body))
  return post(`/hooks/${source}`, raw, { 'content-type': 'application/json', ...signWebhook(config.sources[source]!.verify, raw, { now: new Date() }), ...extra })
}
const issue = (id: number, action = 'edited') => ({ action, issue: { id } })
const expectError = (reply: { status: number; json: () => Record<string, unknown> }, status: number, code: string) => {
  expect(reply.status).toBe(status)
  const { error } = reply.json() as { error: { code: string; message: string } }
  expect(error.code).toBe(code)
  expect(error.message.length).toBeGreaterThan(5)
  expect(JSON.stringify(error)).not.toMatch(/at .*\.ts:\d+/)
}

describe('POST /hooks/{source} over HTTP', () => {
  it('202: durably queued, with the request ids', async () => {
    const reply = await signed('github', issue(1), { 'x-github-event': 'issues', 'x-github-delivery': 'd-202' })
    expect(reply.status).toBe(202)
    const body = reply.json() as { accepted: number; requests: string[] }
    expect(body.accepted).toBe(1)
    expect(body.requests).toHaveLength(1)
    expect(await server.runtime.ledger.getRequest(body.requests[0]!)).toMatchObject({ state: 'queued', recordId: '1', recordType: 'issue', sentAt: expect.any(String) })
  })

  it('200 duplicate for a delivery id seen before', async () => {
    const headers = { 'x-github-event': 'issues', 'x-github-delivery': 'd-dup' }
    expect((await signed('github', issue(2), headers)).status).toBe(202)
    const again = await signed('github', issue(2), headers)
    expect(again.status).toBe(200)
    expect(again.json()).toEqual({ duplicate: true })
  })

  it('200 ignored for an event the source filters out', async () => {
    const reply = await signed('github', issue(3, 'deleted'), { 'x-github-event': 'issues', 'x-github-delivery': 'd-ign' })
    expect(reply.status).toBe(200)
    expect(reply.json()).toMatchObject({ ignored: true, reason: expect.stringContaining('issues.deleted') })
  })

  it('answers Slack url_verification with the challenge', async () => {
    const reply = await signed('slack', { type: 'url_verification', challenge: 'c-123', token: 'x' })
    expect(reply.status).toBe(200)
    expect(reply.text).toContain('c-123')
  })

  it('401 for a missing signature', async () => {
    expectError(await post('/hooks/github', JSON.stringify(issue(4)), { 'content-type': 'application/json', 'x-github-event': 'issues' }), 401, 'source.signature_missing')
  })

  it('401 naming the header of the family the sender uses (svix-* or webhook-*) when its signature is missing', async () => {
    const raw = Buffer.from(JSON.stringify({ data: { id: 'r-1' } }))
    const signedHeaders = signWebhook(config.sources.svix!.verify, raw, { now: new Date() })
    const without = async (family: string) => {
      const headers = { 'content-type': 'application/json', [`${family}-id`]: signedHeaders['webhook-id']!, [`${family}-timestamp`]: signedHeaders['webhook-timestamp']! }
      const reply = await post('/hooks/svix', raw, headers)
      expectError(reply, 401, 'source.signature_missing')
      return (reply.json() as { error: { message: string } }).error.message
    }
    expect(await without('svix')).toBe('the svix-signature header is missing')
    expect(await without('webhook')).toBe('the webhook-signature header is missing')
  })

  it('401 for a tampered body', async () => {
    const raw = Buffer.from(JSON.stringify(issue(5)))
    const headers = signWebhook(config.sources.github!.verify, raw, { now: new Date() })
    expectError(await post('/hooks/github', JSON.stringify(issue(6)), { 'content-type': 'application/json', ...headers }), 401, 'source.signature_invalid')
  })

  it('401 for a timestamp outside the tolerance', async () => {
    const raw = Buffer.from(JSON.stringify({ id: 'evt_1', type: 'customer.updated', data: { object: { id: 'cus_1' } } }))
    const headers = signWebhook(config.sources.stripe!.verify, raw, { now: new Date(Date.now() - 3600_000) })
    expectError(await post('/hooks/stripe', raw, { 'content-type': 'application/json', ...headers }), 401, 'source.timestamp_out_of_tolerance')
  })

  it('404 for an unknown source', async () => {
    expectError(await post('/hooks/nope', '{}', { 'content-type': 'application/json' }), 404, 'source.unknown')
  })

  it('400 for a body that does not parse', async () => {
    expectError(await post('/hooks/forms', '{not json', { 'content-type': 'application/json', authorization: 'Bearer form-token' }), 400, 'source.body_unparseable')
  })

  it('400 when no record id is found', async () => {
    expectError(await post('/hooks/forms', '{"other": 1}', { 'content-type': 'application/json', authorization: 'Bearer form-token' }), 400, 'source.record_id_missing')
  })

  it('accepts a form-encoded body', async () => {
    const reply = await post('/hooks/forms', 'record=abc&x=1', { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer form-token' })
    expect(reply.status).toBe(202)
  })

  it('413 for a body over the limit', async () => {
    expectError(await post('/hooks/forms', JSON.stringify({ record: 'x', pad: 'p'.repeat(5000) }), { 'content-type': 'application/json', authorization: 'Bearer form-token' }), 413, 'request.body_too_large')
  })

  it('415 for an unsupported content type', async () => {
    expectError(await post('/hooks/forms', 'hello', { 'content-type': 'application/octet-stream', authorization: 'Bearer form-token' }), 415, 'source.unsupported_media_type')
  })

  it('503 with Retry-After when the work cannot be queued, and the retry is accepted', async () => {
    const queue = server.runtime.queue
    const send = queue.send.bind(queue)
    queue.send = async () => {
      throw new Error('disk full')
    }
    const headers = { 'x-github-event': 'issues', 'x-github-delivery': 'd-503' }
    try {
      const reply = await signed('github', issue(7), headers)
      expectError(reply, 503, 'storage.unavailable')
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0)
    } finally {
      queue.send = send
    }
    expect((await signed('github', issue(7), headers)).status).toBe(202)
  })

  it('404 for an unknown route and 405 for a wrong method', async () => {
    expectError(await post('/nothing-here', '{}', {}), 404, 'route.not_found')
    const wrong = await fetch(`${server.url}/hooks/github`)
    expect(wrong.status).toBe(405)
  })
})

describe('agent API over HTTP', () => {
  const agent = (path: string, body: unknown, token = AGENT_TOKEN) =>
    post(`/agent/v1/${path}`, JSON.stringify(body), { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) })

  it('401 without a token and with a wrong one', async () => {
    expectError(await agent('pull', { waitSeconds: 0 }, ''), 401, 'auth.missing_token')
    expectError(await agent('pull', { waitSeconds: 0 }, 'wrong'), 401, 'auth.invalid_token')
  })

  it('400 for a body outside the schema', async () => {
    expectError(await agent('pull', { max: 101 }), 400, 'request.invalid')
    expectError(await agent('pull', { max: 10, acks: Array.from({ length: 101 }, () => ({ lease: 'x', outcome: 'done' })) }), 400, 'request.invalid')
    expectError(await agent('ack', { acks: [] }), 400, 'request.invalid')
  })

  it('ends a long poll whose agent hung up, so it leases nothing to nobody', async () => {
    const hangUp = new AbortController()
    const abandoned = fetch(`${server.url}/agent/v1/pull`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${AGENT_TOKEN}` },
      body: JSON.stringify({ waitSeconds: 20, max: 10 }),
      signal: hangUp.signal,
    }).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 200))
    hangUp.abort()
    await abandoned
    await new Promise((resolve) => setTimeout(resolve, 100))
    const accepted = await signed('github', issue(4242), { 'x-github-event': 'issues', 'x-github-delivery': 'd-hangup' })
    const [requestId] = (accepted.json() as { requests: string[] }).requests
    const seen: string[] = []
    for (let round = 0; round < 5 && !seen.includes(requestId!); round++) {
      const pulled = (await agent('pull', { waitSeconds: 1, max: 10 })).json() as { leases: { lease: string; requestId: string }[] }
      for (const grant of pulled.leases) {
        seen.push(grant.requestId)
        await agent('ack', { acks: [{ lease: grant.lease, outcome: 'done' }] })
      }
    }
    // Had the abandoned poll leased it, it would stay hidden for the whole lease (60 s).
    expect(seen).toContain(requestId)
  })

  it('pulls, extends and acks over HTTP; heartbeats are recorded', async () => {
    const accepted = await signed('github', issue(99), { 'x-github-event': 'issues', 'x-github-delivery': 'd-agent' })
    const [requestId] = (accepted.json() as { requests: string[] }).requests
    let lease: string | undefined
    // Earlier tests queued other requests: drain until this one comes.
    for (let round = 0; round < 5 && !lease; round++) {
      const pulled = (await agent('pull', { waitSeconds: 1, max: 10 })).json() as { leases: { lease: string; requestId: string }[] }
      for (const grant of pulled.leases) {
        if (grant.requestId === requestId) lease = grant.lease
        else await agent('ack', { acks: [{ lease: grant.lease, outcome: 'done' }] })
      }
    }
    expect(lease).toBeDefined()
    const extended = (await agent('extend', { leases: [{ lease, seconds: 120 }] })).json() as { results: { status: string }[] }
    expect(extended.results[0]!.status).toBe('ok')
    const acked = (await agent('ack', { acks: [{ lease, outcome: 'done' }] })).json() as { results: { status: string }[] }
    expect(acked.results[0]!.status).toBe('ok')
    const beat = await agent('heartbeat', { version: '1.2.3', inFlight: 0, hostname: 'edge-1' })
    expect(beat.json()).toMatchObject({ agentId: 'agent-1' })
    expect(await server.runtime.ledger.listAgents()).toEqual([expect.objectContaining({ agentId: 'agent-1', version: '1.2.3', hostname: 'edge-1' })])
  })
})

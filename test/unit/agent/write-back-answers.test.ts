import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeBackSchema } from '../../../lib/agent/config.ts'
import { createAuthenticator } from '../../../lib/agent/connectors/auth.ts'
import { HttpClient } from '../../../lib/agent/http-client.ts'
import { createWriteBack, type WriteBackInput } from '../../../lib/agent/write-back.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import { startTestServer, type Reply } from './helpers.ts'

/** Which answers of the source count as a written write-back, and what its URL may use. */
let replies: Reply[] = []
let saas: Awaited<ReturnType<typeof startTestServer>>
beforeAll(async () => {
  saas = await startTestServer(() => replies.shift() ?? { status: 200, body: {} })
})
afterAll(() => saas.close())

const input = (record: unknown = { id: 'cus_1' }): WriteBackInput => ({
  record,
  delivered: record,
  request: { requestId: 'req-1', source: 'crm', recordId: 'cus_1', attempt: 1, events: [], eventCount: 1 } as unknown as WriteBackInput['request'],
  response: { status: 201, headers: {}, body: { erpId: 'E-1' } },
})
const writeBack = (body: string, url = `${saas.url}/customers/{externalId}`) =>
  createWriteBack(parseWithSchema(writeBackSchema, { url, method: 'PATCH', body }, 'test writeBack'), {
    auth: createAuthenticator({ type: 'bearer', token: 'sk_secret' }, new HttpClient()),
    key: 'sources.crm.writeBack',
    now: () => Date.parse('2031-03-01T12:00:00Z'),
  })

describe('a write-back', () => {
  it('counts every 2xx as written, and anything else as a retryable failure that hides the token', async () => {
    const send = writeBack('{"externalId": record.id, "erp": response.body.erpId}')
    for (const status of [200, 204, 299]) {
      replies = [{ status, body: {} }]
      expect(await send(input())).toBe(true)
    }
    for (const status of [300, 304, 404, 503]) {
      replies = [{ status, body: { error: 'sk_secret is wrong' } }]
      const error = await send(input()).catch((caught: unknown) => caught)
      expect(error).toMatchObject({ code: 'agent.write_back_failed', retryable: true })
      expect((error as Error).message).toMatch(new RegExp(`^write-back crm cus_1: .*HTTP ${status}`))
      expect((error as Error).message).not.toContain('sk_secret')
    }
    replies = [{ status: 429, headers: { 'retry-after': '7' }, body: {} }]
    expect(await send(input()).catch((caught: unknown) => caught)).toMatchObject({ retryAfterSeconds: 7 })
    replies = [{ status: 500, body: {} }]
    expect(((await send(input()).catch((caught: unknown) => caught)) as { retryAfterSeconds?: number }).retryAfterSeconds).toBeUndefined()
  })

  it('sends JSON with the top-level scalars of its body as URL placeholders, and the fetch auth', async () => {
    saas.requests.length = 0
    expect(await writeBack('{"externalId": record.id, "n": 3, "flag": true, "nested": {"x": 1}}')(input())).toBe(true)
    const [sent] = saas.requests
    expect(sent).toMatchObject({ method: 'PATCH', url: '/customers/cus_1' })
    expect(sent!.headers).toMatchObject({ authorization: 'Bearer sk_secret', 'content-type': 'application/json', accept: 'application/json' })
    expect(JSON.parse(sent!.body)).toEqual({ externalId: 'cus_1', n: 3, flag: true, nested: { x: 1 } })
    const arrayBody = await writeBack('[record.id]', `${saas.url}/customers/{id}`)(input())
    expect(arrayBody).toBe(true)
    expect(saas.requests[1]).toMatchObject({ url: '/customers/cus_1' })
  })

  it('is skipped when its body expression gives nothing', async () => {
    saas.requests.length = 0
    expect(await writeBack('record.missing')(input())).toBe(false)
    expect(saas.requests).toEqual([])
  })
})

describe('a write-back\'s clock and config errors', () => {
  it('reads an HTTP-date Retry-After against its own clock', async () => {
    const send = writeBack('{"externalId": record.id}')
    // The injected clock is 2031-03-01T12:00:00Z: the date is 30 s after it (and years after the real clock).
    replies = [{ status: 503, headers: { 'retry-after': 'Sat, 01 Mar 2031 12:00:30 GMT' }, body: {} }]
    expect(await send(input()).catch((caught: unknown) => caught)).toMatchObject({ code: 'agent.write_back_failed', retryAfterSeconds: 30 })
  })

  it('names the config key of a body expression that does not compile (a config built without the schema)', () => {
    const config = { ...parseWithSchema(writeBackSchema, { url: `${saas.url}/x`, method: 'PATCH', body: '{}' }, 'test writeBack'), body: '{"externalId": ' }
    const auth = createAuthenticator({ type: 'bearer', token: 'sk_secret' }, new HttpClient())
    expect(() => createWriteBack(config, { auth, key: 'sources.crm.writeBack' })).toThrow(/^sources\.crm\.writeBack\.body/)
  })
})

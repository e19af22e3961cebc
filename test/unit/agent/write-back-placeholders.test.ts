import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { writeBackSchema } from '../../../lib/agent/config.ts'
import { createAuthenticator } from '../../../lib/agent/connectors/auth.ts'
import { HttpClient } from '../../../lib/agent/http-client.ts'
import { createWriteBack, type WriteBackInput } from '../../../lib/agent/write-back.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import { startTestServer } from './helpers.ts'

/**
 * Which parts of a write-back body its URL may use: the top-level strings, numbers and booleans
 * of an object body; nested values offer none, and a null body none either (only the request's
 * own values).
 */
let saas: Awaited<ReturnType<typeof startTestServer>>
const http = new HttpClient()
beforeAll(async () => {
  saas = await startTestServer(() => ({ status: 200, body: {} }))
})
afterAll(async () => {
  await saas.close()
  await http.close()
})
beforeEach(() => {
  saas.requests.length = 0
})

const input: WriteBackInput = {
  record: { id: 'cus_1', tags: ['vip'] },
  delivered: { id: 'cus_1' },
  request: { requestId: 'req-1', source: 'crm', recordId: 'cus_1', attempt: 1 },
  response: { status: 201, headers: {}, body: { erpId: 'E-1' } },
}
const writeBack = (body: string, path: string) =>
  createWriteBack(parseWithSchema(writeBackSchema, { url: `${saas.url}${path}`, method: 'PATCH', body }, 'test writeBack'), {
    auth: createAuthenticator({ type: 'bearer', token: 't' }, http),
    key: 'sources.crm.writeBack',
  })

describe('write-back URL placeholders', () => {
  it('renders top-level strings, numbers and booleans of an object body', async () => {
    expect(await writeBack('{"externalId": record.id, "n": 3, "flag": false}', '/c/{externalId}/{n}/{flag}')(input)).toBe(true)
    expect(saas.requests.map((request) => request.url)).toEqual(['/c/cus_1/3/false'])
  })

  it.each([
    ['a nested array', '{"tags": record.tags}', '/c/{tags}'],
    ['a nested object', '{"erp": response.body}', '/c/{erp}'],
  ])('offers nothing of %s: the write-back fails saying which placeholder, unsent', async (_what, body, path) => {
    await expect(writeBack(body, path)(input)).rejects.toMatchObject({ code: 'agent.template_failed', message: expect.stringContaining(`no value for ${path.slice(3)}`) })
    expect(saas.requests).toEqual([])
  })

  it('sends a null body as JSON null, to a URL of the request\'s own values', async () => {
    expect(await writeBack('null', '/c/{id}')(input)).toBe(true)
    expect(saas.requests).toMatchObject([{ url: '/c/cus_1', body: 'null' }])
  })

  it('encodes a placeholder\'s value for the URL', async () => {
    expect(await writeBack('{"externalId": "a/b c?d"}', '/c/{externalId}')(input)).toBe(true)
    expect(saas.requests.map((request) => request.url)).toEqual(['/c/a%2Fb%20c%3Fd'])
  })
})

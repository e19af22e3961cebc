import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { VerifyConfig, VerifyScheme } from '../../../lib/config/server-config.ts'
import { ConfigError } from '../../../lib/errors.ts'
import { compileExtractor, type ExtractContext } from '../../../lib/sources/extract.ts'
import { expectSourceRejection, thrownBy } from './expect-source-error.ts'

function context(body: unknown, headers: Record<string, string> = {}, query: Record<string, string> = {}): ExtractContext {
  return { body, headers, query, rawBody: Buffer.from(JSON.stringify(body)) }
}

const bodyHash = (ctx: ExtractContext) => `sha256:${createHash('sha256').update(ctx.rawBody).digest('hex')}`

describe('record id extraction', () => {
  it('finds one record id, with record type and event', async () => {
    const extract = compileExtractor('stripe', { recordId: 'body.data.object.id', recordType: 'body.data.object.object', event: 'body.type' })
    const ctx = context({ id: 'evt_1', type: 'customer.updated', data: { object: { id: 'cus_42', object: 'customer' } } })
    expect(await extract(ctx)).toEqual({ recordIds: ['cus_42'], recordType: 'customer', event: 'customer.updated', deliveryId: 'evt_1' })
  })

  it('finds every id of a batched webhook, numbers as strings, duplicates removed', async () => {
    const extract = compileExtractor('none', { recordId: 'body.events.record.id' })
    const ctx = context({ events: [{ record: { id: 7 } }, { record: { id: '8' } }, { record: { id: 7 } }] })
    expect((await extract(ctx)).recordIds).toEqual(['7', '8'])
  })

  it('can read headers and query parameters', async () => {
    const extract = compileExtractor('none', { recordId: 'query.id', event: 'headers."x-event"' })
    expect(await extract(context({}, { 'x-event': 'ping' }, { id: 'r1' }))).toMatchObject({ recordIds: ['r1'], event: 'ping' })
  })

  it('answers 400 when no record id is found', async () => {
    const extract = compileExtractor('none', { recordId: 'body.object.id' })
    for (const body of [{}, { object: { id: '' } }, { object: { id: null } }, { object: { id: [] } }]) {
      const error = await expectSourceRejection(extract(context(body)), 'source.record_id_missing')
      expect(error.statusCode).toBe(400)
    }
  })

  it('answers 400 when the record id is not a string or number', async () => {
    const extract = compileExtractor('none', { recordId: 'body.object' })
    await expectSourceRejection(extract(context({ object: { id: 1 } })), 'source.extract_failed')
  })

  it('answers 400 when an event expression gives several different values', async () => {
    const extract = compileExtractor('none', { recordId: 'body.items.id', event: 'body.items.type' })
    const sameEvent = context({ items: [{ id: 1, type: 'a' }, { id: 2, type: 'a' }] })
    expect((await extract(sameEvent)).event).toBe('a')
    await expectSourceRejection(extract(context({ items: [{ id: 1, type: 'a' }, { id: 2, type: 'b' }] })), 'source.extract_failed')
  })

  it('answers 400 when an expression fails while evaluating', async () => {
    const extract = compileExtractor('none', { recordId: '$number(body.id)' })
    await expectSourceRejection(extract(context({ id: 'not a number' })), 'source.extract_failed')
  })

  it('reports an invalid expression at compile time as a ConfigError naming the key', () => {
    const error = thrownBy(() => compileExtractor('none', { recordId: 'body.id', event: 'body.(' }))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).message).toMatch(/^extract\.event: invalid JSONata: /)
  })
})

describe('delivery id', () => {
  const recordId = 'body.id'

  it('uses the configured expression first', async () => {
    const extract = compileExtractor('github', { recordId, deliveryId: 'headers."x-my-id"' })
    expect((await extract(context({ id: 1 }, { 'x-my-id': 'mine', 'x-github-delivery': 'gh' }))).deliveryId).toBe('mine')
  })

  const defaults: [VerifyScheme | VerifyConfig, unknown, Record<string, string>, string][] = [
    ['github', { id: 1 }, { 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' }, '72d3162e-cc78-11e3-81ab-4c9367dc0958'],
    ['stripe', { id: 'evt_1' }, {}, 'evt_1'],
    ['shopify', { id: 1 }, { 'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043' }, 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043'],
    ['slack', { id: 1, event_id: 'Ev01' }, {}, 'Ev01'],
    ['standard-webhooks', { id: 1 }, { 'webhook-id': 'msg_1' }, 'msg_1'],
    ['standard-webhooks', { id: 1 }, { 'svix-id': 'msg_2' }, 'msg_2'],
    [{ scheme: 'hmac', secrets: ['s'], header: 'x-sig', algorithm: 'sha256', encoding: 'hex', prefix: '', signedContent: '{body}', idHeader: 'X-Delivery', toleranceSeconds: 300 }, { id: 1 }, { 'x-delivery': 'd-9' }, 'd-9'],
  ]

  it.each(defaults)('defaults per scheme (%j)', async (verify, body, headers, expected) => {
    const extract = compileExtractor(verify, { recordId })
    expect((await extract(context(body, headers))).deliveryId).toBe(expected)
  })

  it.each(['github', 'shopify', 'slack', 'standard-webhooks', 'hmac', 'token', 'none'] as const)(
    'falls back to a hash of the raw body when %s gives no id',
    async (scheme) => {
      const ctx = context({ id: 1, event_id: '' })
      expect((await compileExtractor(scheme, { recordId })(ctx)).deliveryId).toBe(bodyHash(ctx))
    },
  )

  it('gives different bodies different fallback ids', async () => {
    const extract = compileExtractor('none', { recordId })
    expect((await extract(context({ id: 1 }))).deliveryId).not.toBe((await extract(context({ id: 2 }))).deliveryId)
  })
})

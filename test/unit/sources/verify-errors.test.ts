import { describe, expect, it } from 'vitest'
import type { VerifyConfig } from '../../../lib/config/server-config.ts'
import { ConfigError } from '../../../lib/errors.ts'
import { signWebhook } from '../../../lib/sources/sign.ts'
import { verifySignature } from '../../../lib/sources/verify/index.ts'
import { assertTimestampWithinTolerance } from '../../../lib/sources/verify/timestamp.ts'
import { expectSourceError, thrownBy } from './expect-source-error.ts'

/**
 * What a refused webhook is told: each 401 names the header and what is wrong with it, so whoever
 * wires up a provider can fix it from the message alone; and the edges of what is accepted.
 */
const NOW = new Date('2031-03-01T12:00:00.000Z')
const T = Math.floor(NOW.getTime() / 1000)
const body = Buffer.from('{"id":"evt_1"}')
const verify = (config: VerifyConfig, headers: Record<string, string>, now = NOW) => verifySignature(config, { headers, rawBody: body, now })
const signed = (config: VerifyConfig, options: { now?: Date; id?: string } = {}) => signWebhook(config, body, { now: options.now ?? NOW, ...(options.id ? { id: options.id } : {}) })
const message = (run: () => unknown, code: Parameters<typeof expectSourceError>[1]) => expectSourceError(run, code).message

const github: VerifyConfig = { scheme: 'github', secrets: ['s1'] }
const stripe: VerifyConfig = { scheme: 'stripe', secrets: ['s1'], toleranceSeconds: 300 }
const slack: VerifyConfig = { scheme: 'slack', secrets: ['s1'], toleranceSeconds: 300 }
const hmacWithTime: VerifyConfig = { scheme: 'hmac', secrets: ['s1'], header: 'X-Sig', algorithm: 'sha256', encoding: 'hex', prefix: '', signedContent: '{timestamp}.{body}', timestampHeader: 'X-Time', toleranceSeconds: 60 }
const hmacPlain: VerifyConfig = { scheme: 'hmac', secrets: ['s1'], header: 'X-Sig', algorithm: 'sha256', encoding: 'hex', prefix: '', signedContent: '{body}', toleranceSeconds: 60 }

describe('signature errors', () => {
  it('name a missing or empty header', () => {
    expect(message(() => verify(github, {}), 'source.signature_missing')).toBe('the x-hub-signature-256 header is missing')
    expect(message(() => verify(github, { 'x-hub-signature-256': '' }), 'source.signature_missing')).toBe('the x-hub-signature-256 header is missing')
  })

  it('name the header whose signature matches no secret', () => {
    expect(message(() => verify(github, { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }), 'source.signature_invalid')).toBe('the x-hub-signature-256 signature matches none of the configured secrets')
  })

  it('say how old or how far in the future a timestamp is, against the tolerance', () => {
    const old = signed(slack, { now: new Date(NOW.getTime() - 301_000) })
    expect(message(() => verify(slack, old), 'source.timestamp_out_of_tolerance')).toBe('the x-slack-request-timestamp header is 301 s old; the tolerance is 300 s')
    const future = signed(slack, { now: new Date(NOW.getTime() + 400_000) })
    expect(message(() => verify(slack, future), 'source.timestamp_out_of_tolerance')).toBe('the x-slack-request-timestamp header is 400 s far in the future; the tolerance is 300 s')
    // Exactly at the tolerance, both ways, is still accepted.
    expect(() => verify(slack, signed(slack, { now: new Date(NOW.getTime() - 300_000) }))).not.toThrow()
    expect(() => verify(slack, signed(slack, { now: new Date(NOW.getTime() + 300_000) }))).not.toThrow()
  })

  it('refuse a timestamp that is not whole unix seconds', () => {
    for (const value of [`${T}.5`, '', '-5', '1234567890123', 'soon']) {
      expect(message(() => assertTimestampWithinTolerance(value, NOW, 60, 'the x-time header'), 'source.signature_invalid')).toBe('the x-time header is not a unix time in seconds')
    }
    expect(() => assertTimestampWithinTolerance(String(T), NOW, 60, 'the x-time header')).not.toThrow()
  })
})

describe('Stripe-Signature', () => {
  const v1 = () => signed(stripe)['stripe-signature']!.split('v1=')[1]!

  it('needs a t= timestamp and a v1= signature', () => {
    const expected = 'the stripe-signature header needs a t= timestamp and a v1= signature'
    expect(message(() => verify(stripe, { 'stripe-signature': `v1=${v1()}` }), 'source.signature_invalid')).toBe(expected)
    expect(message(() => verify(stripe, { 'stripe-signature': `t=${T},v0=${v1()}` }), 'source.signature_invalid')).toBe(expected)
  })

  it('takes the first t, any v1 among others, and skips items without "="', () => {
    expect(() => verify(stripe, { 'stripe-signature': `junk,t=${T},t=1,v0=abc,v1=${'0'.repeat(64)},v1=${v1()}` })).not.toThrow()
    expect(() => verify(stripe, { 'stripe-signature': `t=1,t=${T},v1=${v1()}` })).toThrow()
  })

  it('checks the timestamp after the signature, so a stale but genuine event says so', () => {
    const stale = signed(stripe, { now: new Date(NOW.getTime() - 600_000) })
    expect(message(() => verify(stripe, stale), 'source.timestamp_out_of_tolerance')).toBe('the stripe-signature timestamp is 600 s old; the tolerance is 300 s')
  })
})

describe('generic HMAC', () => {
  it('checks the timestamp header only when one is configured', () => {
    expect(() => verify(hmacPlain, signed(hmacPlain))).not.toThrow()
    expect(() => verify(hmacPlain, signed(hmacPlain, { now: new Date(0) }))).not.toThrow()
    const stale = signed(hmacWithTime, { now: new Date(NOW.getTime() - 61_000) })
    expect(message(() => verify(hmacWithTime, stale), 'source.timestamp_out_of_tolerance')).toBe('the x-time header is 61 s old; the tolerance is 60 s')
  })

  it('signs an id only when an id header is configured', () => {
    const withId: VerifyConfig = { ...hmacPlain, signedContent: '{id}.{body}', idHeader: 'X-Id' }
    const headers = signed(withId, { id: 'delivery-9' })
    expect(headers).toMatchObject({ 'x-id': 'delivery-9' })
    expect(() => verify(withId, headers)).not.toThrow()
    expect(Object.keys(signed(hmacPlain, { id: 'delivery-9' }))).toEqual(['x-sig'])
    expect(Object.keys(signed(withId))).toEqual(['x-sig', 'x-id'])
    expect(Object.keys(signed(hmacWithTime))).toEqual(['x-sig', 'x-time'])
  })
})

describe('Standard Webhooks', () => {
  const config: VerifyConfig = { scheme: 'standard-webhooks', secrets: ['whsec_c2VjcmV0'], toleranceSeconds: 300 }

  it('needs a v1 signature in the header of the family the sender uses', () => {
    const headers = signed(config)
    expect(message(() => verify(config, { ...headers, 'webhook-signature': 'v1a,abc' }), 'source.signature_invalid')).toBe('the webhook-signature header has no v1 signature')
    const svix = { 'svix-id': headers['webhook-id']!, 'svix-timestamp': headers['webhook-timestamp']! }
    expect(message(() => verify(config, svix), 'source.signature_missing')).toBe('the svix-signature header is missing')
    expect(() => verify(config, { ...svix, 'svix-signature': headers['webhook-signature']! })).not.toThrow()
    // webhook-* wins as soon as one webhook-* header is there.
    expect(message(() => verify(config, { ...svix, 'svix-signature': headers['webhook-signature']!, 'webhook-id': 'x' }), 'source.signature_missing')).toBe('the webhook-signature header is missing')
  })

  it('says which timestamp header is out of tolerance', () => {
    const old = signed(config, { now: new Date(NOW.getTime() - 301_000) })
    expect(message(() => verify(config, old), 'source.timestamp_out_of_tolerance')).toBe('the webhook-timestamp header is 301 s old; the tolerance is 300 s')
  })

  it('refuses a secret that is not base64 as a config error', () => {
    const bad: VerifyConfig = { ...config, secrets: ['whsec_not base64!'] }
    const error = thrownBy(() => verify(bad, signed(config)))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe('verify.secrets: a standard-webhooks secret is base64, optionally after "whsec_"')
  })
})

describe('shared tokens', () => {
  it('say which credentials the Authorization header lacks', () => {
    const bearer: VerifyConfig = { scheme: 'token', type: 'bearer', secrets: ['tok'] } as VerifyConfig
    expect(message(() => verify(bearer, { authorization: 'Basic dG9r' }), 'source.signature_invalid')).toBe('the authorization header does not carry Bearer credentials')
    expect(message(() => verify(bearer, { authorization: 'Bearer' }), 'source.signature_invalid')).toBe('the authorization header does not carry Bearer credentials')
    expect(() => verify(bearer, { authorization: 'bearer tok' })).not.toThrow()
    expect(message(() => verify(bearer, { authorization: 'Bearer other' }), 'source.signature_invalid')).toBe('the token in the authorization header matches none of the configured secrets')
  })

  it('read a named header case-insensitively, and need its name', () => {
    const named = { scheme: 'token', type: 'header', header: 'X-Token', secrets: ['tok'] } as VerifyConfig
    expect(signed(named)).toEqual({ 'x-token': 'tok' })
    expect(() => verify(named, { 'x-token': 'tok' })).not.toThrow()
    expect(message(() => verify(named, { 'x-token': 'nope' }), 'source.signature_invalid')).toBe('the token in the x-token header matches none of the configured secrets')
    for (const header of [undefined, '']) {
      const unnamed = { scheme: 'token', type: 'header', ...(header === undefined ? {} : { header }), secrets: ['tok'] } as VerifyConfig
      const error = thrownBy(() => verify(unnamed, { 'x-token': 'tok' }))
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as Error).message).toBe('verify.header: token type "header" needs the name of the header that carries the token')
    }
  })
})

describe('signing', () => {
  it('gives GitHub and Shopify deliveries an id: the one asked for, else a fresh UUID', () => {
    const shopify: VerifyConfig = { scheme: 'shopify', secrets: ['s1'] }
    expect(signed(github, { id: 'd-1' })['x-github-delivery']).toBe('d-1')
    expect(signed(github)['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/)
    expect(signed(shopify, { id: 'd-2' })['x-shopify-webhook-id']).toBe('d-2')
    expect(signed(shopify)['x-shopify-webhook-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('needs a secret to sign with', () => {
    const error = thrownBy(() => signWebhook({ scheme: 'github', secrets: [] }, body, { now: NOW }))
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe('verify.secrets: give at least one secret')
  })
})

describe('an hmac config built without the schema', () => {
  it('names the missing header setting of a placeholder it uses, when signing and verifying', () => {
    const noTime: VerifyConfig = { ...hmacPlain, signedContent: '{timestamp}.{body}' }
    const noId: VerifyConfig = { ...hmacPlain, signedContent: '{id}.{body}' }
    const timeMessage = 'verify.signedContent uses {timestamp}: set verify.timestampHeader to the header that carries it'
    const idMessage = 'verify.signedContent uses {id}: set verify.idHeader to the header that carries it'
    expect(() => signed(noTime)).toThrow(ConfigError)
    expect(() => signed(noTime)).toThrow(timeMessage)
    expect(() => verify(noTime, { 'x-sig': '00' })).toThrow(timeMessage)
    expect(() => signed(noId)).toThrow(idMessage)
    expect(() => verify(noId, { 'x-sig': '00' })).toThrow(idMessage)
  })
})

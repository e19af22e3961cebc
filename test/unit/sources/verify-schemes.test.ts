import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { verifySchema } from '../../../lib/config/server-config.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import { ConfigError } from '../../../lib/errors.ts'
import { signWebhook } from '../../../lib/sources/sign.ts'
import { constantTimeEqual, matchesAny } from '../../../lib/sources/verify/constant-time.ts'
import { verifySignature } from '../../../lib/sources/verify/index.ts'
import { assertTimestampWithinTolerance } from '../../../lib/sources/verify/timestamp.ts'
import { expectSourceError, thrownBy } from './expect-source-error.ts'

const NOW = new Date('2025-06-01T12:00:00Z')
const NOW_SECONDS = NOW.getTime() / 1000
const body = Buffer.from('{"id":"evt_1"}')
const config = (value: Record<string, unknown>) => parseWithSchema(verifySchema, value, 'test')
const verify = (value: Record<string, unknown>, headers: Record<string, string>) =>
  verifySignature(config(value), { headers, rawBody: body, now: NOW })
const hex = (secret: string, content: string) => createHmac('sha256', secret).update(content).digest('hex')

describe('stripe signature', () => {
  const stripe = { scheme: 'stripe', secrets: ['whsec_test'] }
  const good = hex('whsec_test', `${NOW_SECONDS}.${body.toString()}`)

  it('accepts a header with several v1 signatures when one matches', () => {
    const header = `t=${NOW_SECONDS},v1=${'0'.repeat(64)},v1=${good}`
    expect(() => verify(stripe, { 'stripe-signature': header })).not.toThrow()
  })

  it('ignores v0 and other schemes even when they carry the right value', () => {
    const header = `t=${NOW_SECONDS},v0=${good},v1=${'0'.repeat(64)}`
    expectSourceError(() => verify(stripe, { 'stripe-signature': header }), 'source.signature_invalid')
  })

  it('rejects a header without a timestamp or without a v1 signature', () => {
    expectSourceError(() => verify(stripe, { 'stripe-signature': `v1=${good}` }), 'source.signature_invalid')
    expectSourceError(() => verify(stripe, { 'stripe-signature': `t=${NOW_SECONDS},v0=${good}` }), 'source.signature_invalid')
  })
})

describe('standard webhooks signature', () => {
  const secret = `whsec_${Buffer.from('a 24-byte test key......').toString('base64')}`
  const standard = { scheme: 'standard-webhooks', secrets: [secret] }
  const signed = signWebhook(config(standard), body, { now: NOW, id: 'msg_1' })

  it('accepts the svix-* header names', () => {
    const svix = { 'svix-id': 'msg_1', 'svix-timestamp': signed['webhook-timestamp']!, 'svix-signature': signed['webhook-signature']! }
    expect(() => verify(standard, svix)).not.toThrow()
  })

  it('accepts a space-separated list where any v1 entry matches, ignoring v1a', () => {
    const list = `v1a,bm90IGEgc2lnbmF0dXJl v1,${Buffer.alloc(32).toString('base64')} ${signed['webhook-signature']!}`
    expect(() => verify(standard, { ...signed, 'webhook-signature': list })).not.toThrow()
  })

  it('rejects a signature header with no v1 entry', () => {
    const onlyV1a = { ...signed, 'webhook-signature': signed['webhook-signature']!.replace('v1,', 'v1a,') }
    expectSourceError(() => verify(standard, onlyV1a), 'source.signature_invalid')
  })

  it('takes the secret as base64 with or without the whsec_ prefix', () => {
    expect(() => verify({ ...standard, secrets: [secret.slice('whsec_'.length)] }, signed)).not.toThrow()
  })

  it('reports a secret that is not base64 as a config error', () => {
    expect(thrownBy(() => verify({ ...standard, secrets: ['whsec_not base64!'] }, signed))).toBeInstanceOf(ConfigError)
  })
})

describe('token verification', () => {
  it('accepts the Bearer scheme name in any case', () => {
    expect(() => verify({ scheme: 'token', secrets: ['t0ken'] }, { authorization: 'bearer t0ken' })).not.toThrow()
  })

  it('rejects Basic credentials where a bearer token is expected', () => {
    const basic = `Basic ${Buffer.from('t0ken').toString('base64')}`
    expectSourceError(() => verify({ scheme: 'token', secrets: ['t0ken'] }, { authorization: basic }), 'source.signature_invalid')
  })

  it('compares Basic credentials as "user:pass"', () => {
    const basic = { scheme: 'token', type: 'basic', secrets: ['hooks:s3cret'] }
    const encode = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`
    expect(() => verify(basic, { authorization: encode('hooks:s3cret') })).not.toThrow()
    expectSourceError(() => verify(basic, { authorization: encode('hooks:wrong') }), 'source.signature_invalid')
    expectSourceError(() => verify(basic, { authorization: encode('hooks:s3cret0') }), 'source.signature_invalid')
  })

  it('needs a header name for type "header"', () => {
    expect(thrownBy(() => verify({ scheme: 'token', type: 'header', secrets: ['x'] }, { 'x-token': 'x' }))).toBeInstanceOf(ConfigError)
  })
})

describe('generic hmac signature', () => {
  it('reports {timestamp} in signedContent without a timestampHeader as a config error', () => {
    const hmac = { scheme: 'hmac', secrets: ['s'], header: 'x-sig', signedContent: '{timestamp}.{body}' }
    expect(thrownBy(() => verify(hmac, { 'x-sig': 'abc' }))).toBeInstanceOf(ConfigError)
  })

  it('requires the configured prefix', () => {
    const hmac = { scheme: 'hmac', secrets: ['s'], header: 'x-sig', prefix: 'sha256=' }
    const signature = hex('s', body.toString())
    expect(() => verify(hmac, { 'x-sig': `sha256=${signature}` })).not.toThrow()
    expectSourceError(() => verify(hmac, { 'x-sig': signature }), 'source.signature_invalid')
  })

  it('fills {id} and {timestamp} from their headers', () => {
    const hmac = { scheme: 'hmac', secrets: ['s'], header: 'x-sig', signedContent: '{id}:{timestamp}:{body}', timestampHeader: 'x-ts', idHeader: 'x-id' }
    const signature = hex('s', `d-1:${NOW_SECONDS}:${body.toString()}`)
    expect(() => verify(hmac, { 'x-sig': signature, 'x-ts': String(NOW_SECONDS), 'x-id': 'd-1' })).not.toThrow()
    expectSourceError(() => verify(hmac, { 'x-sig': signature, 'x-ts': String(NOW_SECONDS), 'x-id': 'd-2' }), 'source.signature_invalid')
  })
})

describe('timestamp tolerance', () => {
  it('rejects a timestamp that is not unix seconds', () => {
    for (const value of ['', 'abc', '1.5', '-10', String(NOW.getTime())]) {
      expect(thrownBy(() => assertTimestampWithinTolerance(value, NOW, 300, 'the x header'))).toHaveProperty('statusCode', 401)
    }
  })
})

describe('constant-time comparison', () => {
  it('is true only for identical bytes of identical length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true)
    expect(constantTimeEqual('abc', 'abd')).toBe(false)
    expect(constantTimeEqual('abc', 'abc\u0000')).toBe(false)
    expect(constantTimeEqual('', 'a')).toBe(false)
    expect(constantTimeEqual(Buffer.from('abc'), 'abc')).toBe(true)
  })

  it('finds a match anywhere among several expected and provided values', () => {
    expect(matchesAny(['a', 'b'], ['c', 'b'])).toBe(true)
    expect(matchesAny(['a', 'b'], ['c'])).toBe(false)
    expect(matchesAny(['a'], [])).toBe(false)
  })
})

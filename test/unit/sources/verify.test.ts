import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { verifySchema, type VerifyConfig } from '../../../lib/config/server-config.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import { signWebhook } from '../../../lib/sources/sign.ts'
import { verifySignature } from '../../../lib/sources/verify/index.ts'
import { expectSourceError } from './expect-source-error.ts'

/** One way of verifying, as a config without secrets, and what its signature covers. */
interface SchemeCase {
  name: string
  config: Record<string, unknown>
  /** Headers without which the request cannot be verified. */
  requiredHeaders: string[]
  signsBody: boolean
  signsTimestamp: boolean
  newSecret: () => string
}

const plainSecret = (): string => randomBytes(16).toString('hex')
const whsecSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`

const schemes: SchemeCase[] = [
  { name: 'github', config: { scheme: 'github' }, requiredHeaders: ['x-hub-signature-256'], signsBody: true, signsTimestamp: false, newSecret: plainSecret },
  { name: 'stripe', config: { scheme: 'stripe' }, requiredHeaders: ['stripe-signature'], signsBody: true, signsTimestamp: true, newSecret: () => `whsec_${plainSecret()}` },
  { name: 'shopify', config: { scheme: 'shopify' }, requiredHeaders: ['x-shopify-hmac-sha256'], signsBody: true, signsTimestamp: false, newSecret: plainSecret },
  { name: 'slack', config: { scheme: 'slack' }, requiredHeaders: ['x-slack-signature', 'x-slack-request-timestamp'], signsBody: true, signsTimestamp: true, newSecret: plainSecret },
  {
    name: 'standard-webhooks',
    config: { scheme: 'standard-webhooks' },
    requiredHeaders: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    signsBody: true,
    signsTimestamp: true,
    newSecret: whsecSecret,
  },
  {
    name: 'hmac with timestamp and id',
    config: { scheme: 'hmac', header: 'X-Signature', prefix: 'sha256=', signedContent: '{timestamp}.{id}.{body}', timestampHeader: 'X-Timestamp', idHeader: 'X-Request-Id' },
    requiredHeaders: ['x-signature', 'x-timestamp', 'x-request-id'],
    signsBody: true,
    signsTimestamp: true,
    newSecret: plainSecret,
  },
  { name: 'hmac sha1 base64', config: { scheme: 'hmac', header: 'x-sig', algorithm: 'sha1', encoding: 'base64' }, requiredHeaders: ['x-sig'], signsBody: true, signsTimestamp: false, newSecret: plainSecret },
  { name: 'hmac sha512 hex', config: { scheme: 'hmac', header: 'x-sig', algorithm: 'sha512' }, requiredHeaders: ['x-sig'], signsBody: true, signsTimestamp: false, newSecret: plainSecret },
  { name: 'token bearer', config: { scheme: 'token' }, requiredHeaders: ['authorization'], signsBody: false, signsTimestamp: false, newSecret: plainSecret },
  { name: 'token basic', config: { scheme: 'token', type: 'basic' }, requiredHeaders: ['authorization'], signsBody: false, signsTimestamp: false, newSecret: () => `hooks:${plainSecret()}` },
  { name: 'token header', config: { scheme: 'token', type: 'header', header: 'X-Api-Key' }, requiredHeaders: ['x-api-key'], signsBody: false, signsTimestamp: false, newSecret: plainSecret },
]

const NOW = new Date('2025-06-01T12:00:00Z')
const TOLERANCE_IN_SECONDS = 300
const body = Buffer.from('{"id":"evt_1","object":{"id":"cus_42"}}')

function configFor(scheme: SchemeCase, secrets: string[]): VerifyConfig {
  return parseWithSchema(verifySchema, { ...scheme.config, secrets }, 'test')
}

function shifted(seconds: number): Date {
  return new Date(NOW.getTime() + seconds * 1000)
}

const casesOf = (list: SchemeCase[]) => list.map((scheme) => [scheme.name, scheme] as const)
const verifierFor = (scheme: SchemeCase) => {
  const secret = scheme.newSecret()
  const config = configFor(scheme, [secret])
  const verify = (headers: Record<string, string>, rawBody = body, now = NOW, verifyConfig = config): void =>
    verifySignature(verifyConfig, { headers, rawBody, now })
  return { secret, config, verify }
}

describe.each(casesOf(schemes))('%s verification', (_name, scheme) => {
  const { secret, config, verify } = verifierFor(scheme)

  it('accepts what signWebhook signs (round trip)', () => {
    const headers = signWebhook(config, body, { now: NOW })
    expect(Object.keys(headers)).toEqual(expect.arrayContaining(scheme.requiredHeaders))
    expect(() => verify(headers)).not.toThrow()
  })

  it('rejects a webhook signed with another secret, without echoing secrets or signatures', () => {
    const headers = signWebhook(configFor(scheme, [scheme.newSecret()]), body, { now: NOW })
    const error = expectSourceError(() => verify(headers), 'source.signature_invalid')
    expect(error.statusCode).toBe(401)
    expect(error.message).not.toContain(secret)
    for (const value of Object.values(headers)) expect(error.message).not.toContain(value)
  })

  it('accepts a webhook signed with any configured secret (rotation)', () => {
    const oldSecret = scheme.newSecret()
    const headers = signWebhook(configFor(scheme, [oldSecret]), body, { now: NOW })
    expect(() => verify(headers, body, NOW, configFor(scheme, [secret, oldSecret]))).not.toThrow()
    expectSourceError(() => verify(headers), 'source.signature_invalid')
  })

  it.each(scheme.requiredHeaders)('rejects a webhook without the %s header', (header) => {
    const headers = signWebhook(config, body, { now: NOW })
    delete headers[header]
    const error = expectSourceError(() => verify(headers), 'source.signature_missing')
    expect(error.message).toContain(header)
  })
})

describe.each(casesOf(schemes.filter((scheme) => scheme.signsBody)))('%s body signature', (_name, scheme) => {
  const { config, verify } = verifierFor(scheme)

  it('rejects a tampered body', () => {
    const headers = signWebhook(config, body, { now: NOW })
    const tampered = Buffer.from(body.toString().replace('cus_42', 'cus_43'))
    expectSourceError(() => verify(headers, tampered), 'source.signature_invalid')
  })

  it('signs the raw bytes, not a decoded string (invalid UTF-8 still verifies)', () => {
    const binary = Buffer.from([0x7b, 0xff, 0xfe, 0x7d])
    expect(() => verify(signWebhook(config, binary, { now: NOW }), binary)).not.toThrow()
    expectSourceError(() => verify(signWebhook(config, binary, { now: NOW }), Buffer.from([0x7b, 0xff, 0xfd, 0x7d])), 'source.signature_invalid')
  })
})

describe.each(casesOf(schemes.filter((scheme) => scheme.signsTimestamp)))('%s timestamp', (_name, scheme) => {
  const { config, verify } = verifierFor(scheme)

  it('rejects a timestamp older than the tolerance', () => {
    const headers = signWebhook(config, body, { now: shifted(-TOLERANCE_IN_SECONDS - 1) })
    expectSourceError(() => verify(headers), 'source.timestamp_out_of_tolerance')
  })

  it('rejects a timestamp further in the future than the tolerance', () => {
    const headers = signWebhook(config, body, { now: shifted(TOLERANCE_IN_SECONDS + 1) })
    expectSourceError(() => verify(headers), 'source.timestamp_out_of_tolerance')
  })

  it('accepts a timestamp exactly at the tolerance, past or future', () => {
    for (const offset of [-TOLERANCE_IN_SECONDS, TOLERANCE_IN_SECONDS]) {
      expect(() => verify(signWebhook(config, body, { now: shifted(offset) }))).not.toThrow()
    }
  })
})

describe('scheme none', () => {
  it('accepts any webhook when allowUnsigned is confirmed', () => {
    const config = parseWithSchema(verifySchema, { scheme: 'none', allowUnsigned: true }, 'test')
    expect(signWebhook(config, body, { now: NOW })).toEqual({})
    expect(() => verifySignature(config, { headers: {}, rawBody: body, now: NOW })).not.toThrow()
  })
})

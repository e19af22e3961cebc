import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { verifySchema, type VerifyConfig } from '../../../lib/config/server-config.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import { HookferryError } from '../../../lib/errors.ts'
import { signWebhook } from '../../../lib/sources/sign.ts'
import { verifySignature } from '../../../lib/sources/verify/index.ts'

interface Vector {
  scheme: VerifyConfig['scheme']
  source: string
  secret: string
  now?: number
  body: string
  headers: Record<string, string>
}

// The providers' published examples, kept in the repo (each names its source document).
const vectorsFile = new URL('../../fixtures/signature-vectors.json', import.meta.url)
const { vectors } = JSON.parse(readFileSync(vectorsFile, 'utf8')) as { vectors: Vector[] }

/** One input of a verification, as bytes that a test can change one at a time. */
interface Case {
  secret: Buffer
  body: Buffer
  headers: Record<string, Buffer>
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1')

function caseOf(vector: Vector): Case {
  const headers = Object.fromEntries(Object.entries(vector.headers).map(([name, value]) => [name, latin1(value)]))
  return { secret: latin1(vector.secret), body: Buffer.from(vector.body, 'utf8'), headers }
}

function configOf(vector: Vector, secret: string): VerifyConfig {
  return parseWithSchema(verifySchema, { scheme: vector.scheme, secrets: [secret] }, 'test vector')
}

function verifyCase(vector: Vector, input: Case): void {
  const headers = Object.fromEntries(Object.entries(input.headers).map(([name, value]) => [name, value.toString('latin1')]))
  const now = new Date((vector.now ?? 1_700_000_000) * 1000)
  verifySignature(configOf(vector, input.secret.toString('latin1')), { headers, rawBody: input.body, now })
}

/** Every byte that feeds a verification: body, secret and each header value, by name. */
function fieldsOf(input: Case): { name: string; bytes: Buffer; with: (bytes: Buffer) => Case }[] {
  return [
    { name: 'body', bytes: input.body, with: (body) => ({ ...input, body }) },
    { name: 'secret', bytes: input.secret, with: (secret) => ({ ...input, secret }) },
    ...Object.entries(input.headers).map(([header, bytes]) => ({
      name: `header ${header}`,
      bytes,
      with: (value: Buffer) => ({ ...input, headers: { ...input.headers, [header]: value } }),
    })),
  ]
}

function withByte(bytes: Buffer, position: number, value: number): Buffer {
  const changed = Buffer.from(bytes)
  changed[position] = value
  return changed
}

function expectRejected(vector: Vector, input: Case): void {
  expect(() => verifyCase(vector, input)).toThrow(HookferryError)
}

describe.each(vectors.map((vector) => [vector.scheme, vector] as const))('%s official vector', (_scheme, vector) => {
  it(`verifies the example from ${vector.source}`, () => {
    expect(() => verifyCase(vector, caseOf(vector))).not.toThrow()
  })

  it('is reproduced exactly by signWebhook', () => {
    const id = vector.headers['webhook-id']
    const now = new Date((vector.now ?? 0) * 1000)
    const signed = signWebhook(configOf(vector, vector.secret), Buffer.from(vector.body), { now, ...(id ? { id } : {}) })
    expect(signed).toMatchObject(vector.headers)
  })

  it('rejects it with any single byte of body, secret or header flipped', () => {
    const input = caseOf(vector)
    let rejected = 0
    for (const field of fieldsOf(input)) {
      for (let position = 0; position < field.bytes.length; position++) {
        const original = field.bytes[position] ?? 0
        expectRejected(vector, field.with(withByte(field.bytes, position, original ^ 0x01)))
        rejected++
      }
    }
    expect(rejected).toBeGreaterThan(input.body.length)
  })

  it('rejects it with any single byte replaced by any other value', () => {
    const input = caseOf(vector)
    const fields = fieldsOf(input)
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: fields.length - 1 }).chain((fieldIndex) => {
          const field = fields[fieldIndex]!
          return fc.tuple(fc.constant(field), fc.integer({ min: 0, max: field.bytes.length - 1 }), fc.integer({ min: 0, max: 255 }))
        }),
        ([field, position, value]) => {
          fc.pre(field.bytes[position] !== value)
          expectRejected(vector, field.with(withByte(field.bytes, position, value)))
        },
      ),
      { numRuns: 500 },
    )
  })
})

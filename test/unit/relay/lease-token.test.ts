import { describe, expect, it } from 'vitest'
import { decodeLease, encodeLease } from '../../../lib/relay/lease-token.ts'
import { decodeWorkMessage, encodeWorkMessage } from '../../../lib/relay/queue-message.ts'

/** The two opaque strings the relay hands out and must recognise again: lease tokens and queue messages. */
const ref = { requestId: 'req-1', recordKey: 'crm##42', leaseId: 'lease-1', receipt: 'receipt-1' }
const token = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url')

describe('lease tokens', () => {
  it('round-trip every part of the lease reference, URL-safe', () => {
    const encoded = encodeLease(ref)
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeLease(encoded)).toEqual(ref)
  })

  it.each([
    ['not base64 JSON', 'garbage!'],
    ['a JSON object', token({ requestId: 'req-1' })],
    ['four parts', token([1, 'req-1', 'crm##42', 'lease-1'])],
    ['six parts', token([1, 'req-1', 'crm##42', 'lease-1', 'receipt-1', 'extra'])],
    ['another version', token([2, 'req-1', 'crm##42', 'lease-1', 'receipt-1'])],
    ['a part that is not text', token([1, 'req-1', 'crm##42', 7, 'receipt-1'])],
    ['a first part that is not text', token([1, 5, 'crm##42', 'lease-1', 'receipt-1'])],
  ])('refuses %s with 400 agent.invalid_lease', (_, bad) => {
    expect(() => decodeLease(bad)).toThrow(expect.objectContaining({ code: 'agent.invalid_lease', statusCode: 400, message: 'lease token is not one this server issued' }))
  })
})

describe('work queue messages', () => {
  it('round-trip the request and its record key, versioned', () => {
    const body = encodeWorkMessage({ requestId: 'req-1', recordKey: 'crm##42' })
    expect(JSON.parse(body)).toEqual({ v: 1, requestId: 'req-1', recordKey: 'crm##42' })
    expect(decodeWorkMessage(body)).toEqual({ requestId: 'req-1', recordKey: 'crm##42' })
  })

  it.each([
    ['not JSON', 'hello'],
    ['another version', JSON.stringify({ v: 2, requestId: 'r', recordKey: 'k' })],
    ['no version', JSON.stringify({ requestId: 'r', recordKey: 'k' })],
    ['a request id that is not text', JSON.stringify({ v: 1, requestId: 1, recordKey: 'k' })],
    ['no record key', JSON.stringify({ v: 1, requestId: 'r' })],
  ])('are not ours when %s', (_, body) => {
    expect(decodeWorkMessage(body)).toBeUndefined()
  })
})

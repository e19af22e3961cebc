import { describe, expect, it } from 'vitest'
import { canonicalJson, contentHash, withoutFields } from '../../../lib/agent/content-hash.ts'
import { idempotencyKey } from '../../../lib/agent/idempotency.ts'

/** The two hashes the loop guard and the sinks rely on: equal content, equal hash; one change, one key. */
describe('canonicalJson and contentHash', () => {
  it('sort keys at every level, keep array order, and drop undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined, b: null } })).toBe('{"a":{"b":null,"d":[2,1]},"b":1}')
    expect(canonicalJson([{ y: 1, x: 2 }])).toBe('[{"x":2,"y":1}]')
    expect(canonicalJson(undefined)).toBe('undefined')
    expect(canonicalJson('text')).toBe('"text"')
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }))
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }))
    expect(contentHash({ a: 1 })).toMatch(/^[0-9a-f]{64}$/)
  })

  it('ignore the given dotted fields, and only those', () => {
    const record = { id: 1, updated_at: 'now', metadata: { synced_at: 't', erp_id: 'E' } }
    expect(contentHash(record, ['updated_at', 'metadata.synced_at'])).toBe(contentHash({ id: 1, metadata: { erp_id: 'E' } }))
    expect(contentHash(record, ['updated_at'])).not.toBe(contentHash({ id: 1, metadata: { erp_id: 'E' } }))
    expect(contentHash(record)).not.toBe(contentHash(record, ['updated_at']))
  })

  it('remove fields from a copy, and pass through what has no such path', () => {
    const record = { a: { b: { c: 1, d: 2 } }, list: [1], n: null }
    expect(withoutFields(record, ['a.b.c', 'missing.x', 'n.x', 'n.x.y', 'list.0.y', 'a.b.c.deeper'])).toEqual({ a: { b: { d: 2 } }, list: [1], n: null })
    expect(record.a.b.c).toBe(1)
    expect(withoutFields(record, [])).toBe(record)
    expect(withoutFields(null, ['a'])).toBeNull()
    expect(withoutFields('text', ['length'])).toBe('text')
    expect(withoutFields({ a: 'text' }, ['a.length'])).toEqual({ a: 'text' })
  })
})

describe('idempotencyKey', () => {
  const change = { source: 'crm', recordId: '42', requestId: 'req-1' }

  it('is the same for every redelivery of one version, whichever request carries it', () => {
    expect(idempotencyKey({ ...change, version: '7' })).toBe(idempotencyKey({ ...change, requestId: 'req-2', version: '7' }))
    expect(idempotencyKey({ ...change, version: '7' })).not.toBe(idempotencyKey({ ...change, version: '8' }))
    expect(idempotencyKey({ ...change, version: '7' })).toMatch(/^[0-9a-f]{64}$/)
  })

  it('falls back to the request id without a version, and never mixes the two', () => {
    expect(idempotencyKey(change)).toBe(idempotencyKey({ ...change }))
    expect(idempotencyKey(change)).not.toBe(idempotencyKey({ ...change, requestId: 'req-2' }))
    // A version that looks like a request id is still a version.
    expect(idempotencyKey({ ...change, version: 'req-1' })).not.toBe(idempotencyKey(change))
    expect(idempotencyKey({ ...change, recordType: 'customer' })).not.toBe(idempotencyKey(change))
  })
})

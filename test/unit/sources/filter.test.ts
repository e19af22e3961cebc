import { describe, expect, it } from 'vitest'
import { isEventIncluded } from '../../../lib/sources/filter.ts'

describe('event filter', () => {
  it('lets every event through when include is empty', () => {
    expect(isEventIncluded({ include: [], exclude: [] }, 'customer.created')).toBe(true)
  })

  it('matches globs where * spans any characters, dots included', () => {
    const filter = { include: ['customer.*', 'invoice.paid'], exclude: [] }
    expect(isEventIncluded(filter, 'customer.created')).toBe(true)
    expect(isEventIncluded(filter, 'customer.subscription.updated')).toBe(true)
    expect(isEventIncluded(filter, 'invoice.paid')).toBe(true)
    expect(isEventIncluded(filter, 'invoice.payment_failed')).toBe(false)
    expect(isEventIncluded(filter, 'customer')).toBe(false)
  })

  it('treats regular-expression characters in patterns literally', () => {
    expect(isEventIncluded({ include: ['a.b'], exclude: [] }, 'aXb')).toBe(false)
    expect(isEventIncluded({ include: ['(x)+'], exclude: [] }, '(x)+')).toBe(true)
  })

  it('lets exclude win over include', () => {
    const filter = { include: ['*'], exclude: ['customer.deleted', '*.test'] }
    expect(isEventIncluded(filter, 'customer.deleted')).toBe(false)
    expect(isEventIncluded(filter, 'ping.test')).toBe(false)
    expect(isEventIncluded(filter, 'customer.updated')).toBe(true)
  })

  it('lets a webhook without an event name through only when include is empty', () => {
    expect(isEventIncluded({ include: [], exclude: ['*'] }, undefined)).toBe(true)
    expect(isEventIncluded({ include: ['*'], exclude: [] }, undefined)).toBe(false)
  })
})

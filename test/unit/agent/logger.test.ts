import { describe, expect, it } from 'vitest'
import { captureLog } from './helpers.ts'

describe('agent logger', () => {
  it('redacts tokens, Authorization headers, passwords and client secrets', () => {
    const { logger, text, lines } = captureLog()
    logger.info(
      {
        token: 'tok-1',
        headers: { authorization: 'Bearer tok-2', 'x-api-key': 'key-3', accept: 'application/json' },
        auth: { type: 'oauth2', clientSecret: 'sec-4', password: 'pw-5' },
        access_token: 'tok-6',
      },
      'calling the API',
    )
    for (const secret of ['tok-1', 'tok-2', 'key-3', 'sec-4', 'pw-5', 'tok-6']) expect(text()).not.toContain(secret)
    expect(lines[0]).toMatchObject({ token: '[redacted]', headers: { authorization: '[redacted]', accept: 'application/json' }, auth: { type: 'oauth2', clientSecret: '[redacted]' } })
  })
})

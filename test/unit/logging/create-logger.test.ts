import { describe, expect, it } from 'vitest'
import { createLogger, redactFields } from '../../../lib/logging/create-logger.ts'
import { captureLines } from '../../support/log-capture.ts'

function capture(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[]; text: () => string } {
  const { destination, lines, text } = captureLines()
  return { logger: createLogger({ name: 'test', level: 'debug', destination }), lines, text }
}

describe('log redaction', () => {
  it('censors the secret keys at the top level and one object down, and headers by name there too', () => {
    const { logger, lines, text } = capture()
    logger.info(
      {
        password: 'pw-1',
        auth: { type: 'basic', password: 'pw-2', nested: { password: 'deep' } },
        headers: { cookie: 'c-3', 'x-api-key': 'k-4', accept: 'text/plain' },
        call: { headers: { authorization: 'Bearer t-5', 'x-api-key': 'k-6', 'content-type': 'application/json' } },
      },
      'calling',
    )
    for (const secret of ['pw-1', 'pw-2', 'c-3', 'k-4', 't-5', 'k-6']) expect(text()).not.toContain(secret)
    expect(lines[0]).toMatchObject({
      password: '[redacted]',
      auth: { type: 'basic', password: '[redacted]', nested: { password: 'deep' } },
      headers: { cookie: '[redacted]', 'x-api-key': '[redacted]', accept: 'text/plain' },
      call: { headers: { authorization: '[redacted]', 'x-api-key': '[redacted]', 'content-type': 'application/json' } },
      msg: 'calling',
    })
  })

  it('censors the bindings of child loggers, and of their children', () => {
    const { logger, lines, text } = capture()
    logger.child({ token: 'tok-7', source: 'crm' }).child({ auth: { password: 'pw-8' } }).info({ recordId: '1' }, 'done')
    for (const secret of ['tok-7', 'pw-8']) expect(text()).not.toContain(secret)
    expect(lines[0]).toMatchObject({ token: '[redacted]', source: 'crm', auth: { password: '[redacted]' }, recordId: '1', msg: 'done' })
  })

  it('never changes the caller\'s objects, and hands on a line with nothing to censor without copying it', () => {
    const fields = { source: 'crm', headers: { authorization: 'Bearer t' }, tags: ['a'] }
    const redacted = redactFields(fields)
    expect(redacted).toEqual({ source: 'crm', headers: { authorization: '[redacted]' }, tags: ['a'] })
    expect(fields.headers.authorization).toBe('Bearer t')
    const clean = { source: 'crm', recordId: '1', outcome: { state: 'done' } }
    expect(redactFields(clean)).toBe(clean)
  })
})

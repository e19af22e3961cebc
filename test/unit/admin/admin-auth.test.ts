import { describe, expect, it } from 'vitest'
import { ADMIN_OPERATIONS } from '../../../lib/admin/admin-http.ts'
import { authenticateAdmin } from '../../../lib/admin/admin-auth.ts'
import { ROUTES } from '../../../lib/http/routes.ts'
import { authenticateAgent, sha256Hex } from '../../../lib/relay/agent-auth.ts'

const TOKEN = 'hfa_admin-token'
const config = { adminTokenSha256: sha256Hex(TOKEN) }

function errorOf(call: () => unknown): unknown {
  try {
    call()
  } catch (error) {
    return error
  }
  return undefined
}

describe('admin token', () => {
  it('accepts the configured token', () => {
    expect(() => authenticateAdmin(config, `Bearer ${TOKEN}`)).not.toThrow()
  })

  it('rejects a missing token with 401 auth.missing_token', () => {
    expect(errorOf(() => authenticateAdmin(config, undefined))).toMatchObject({ code: 'auth.missing_token', statusCode: 401 })
    expect(errorOf(() => authenticateAdmin(config, `Basic ${TOKEN}`))).toMatchObject({ code: 'auth.missing_token', statusCode: 401 })
  })

  it('rejects a wrong token with 401 auth.invalid_token, without echoing it', () => {
    const error = errorOf(() => authenticateAdmin(config, 'Bearer hfa_guess'))
    expect(error).toMatchObject({ code: 'auth.invalid_token', statusCode: 401 })
    expect((error as Error).message).not.toContain('hfa_guess')
  })

  it('closes the admin API (403 admin.disabled) when no admin token is configured, whatever is sent', () => {
    expect(errorOf(() => authenticateAdmin({}, `Bearer ${TOKEN}`))).toMatchObject({ code: 'admin.disabled', statusCode: 403 })
  })

  it('keeps agent and admin tokens apart', () => {
    expect(errorOf(() => authenticateAgent([{ id: 'a1', tokenSha256: sha256Hex('agent') }], `Bearer ${TOKEN}`))).toMatchObject({ code: 'auth.invalid_token' })
    expect(errorOf(() => authenticateAdmin(config, 'Bearer agent'))).toMatchObject({ code: 'auth.invalid_token' })
  })
})

describe('admin routes', () => {
  it('serves every admin route of lib/http/routes.ts from functions/admin.ts, and nothing else', () => {
    const declared = ROUTES.filter((spec) => spec.fn === 'admin').map((spec) => spec.route).sort()
    expect(declared).toEqual(Object.keys(ADMIN_OPERATIONS).sort())
    expect(ROUTES.filter((spec) => spec.route.includes(' /admin/')).every((spec) => spec.fn === 'admin')).toBe(true)
  })
})

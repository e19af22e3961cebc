import { describe, expect, it } from 'vitest'
import { authenticateAgent, bearerTokenOf, matchTokenSha256, sha256Hex } from '../../../lib/relay/agent-auth.ts'

/** Agent credentials: only SHA-256 hashes are configured; the bearer token is compared in constant time. */
const agents = [
  { id: 'onprem-1', tokenSha256: sha256Hex('hfa_one') },
  { id: 'onprem-2', tokenSha256: sha256Hex('hfa_two') },
]

describe('agent authentication', () => {
  it('hashes a token as lower-case SHA-256 hex', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('reads the token of a Bearer header, whatever the case of the scheme and trailing space', () => {
    expect(bearerTokenOf('Bearer hfa_one')).toBe('hfa_one')
    expect(bearerTokenOf('bearer   hfa_one  ')).toBe('hfa_one')
    expect(bearerTokenOf('Bearer')).toBeUndefined()
    expect(bearerTokenOf('Bearerhfa_one')).toBeUndefined()
    expect(bearerTokenOf('Basic hfa_one')).toBeUndefined()
    expect(bearerTokenOf('x Bearer hfa_one')).toBeUndefined()
    expect(bearerTokenOf('Bearer hfa_one extra')).toBeUndefined()
    expect(bearerTokenOf(undefined)).toBeUndefined()
  })

  it('finds the index of the hash that matches, the first when several do, and -1 for none', () => {
    expect(matchTokenSha256('hfa_two', agents.map((agent) => agent.tokenSha256))).toBe(1)
    expect(matchTokenSha256('hfa_one', [sha256Hex('hfa_one'), sha256Hex('hfa_one')])).toBe(0)
    expect(matchTokenSha256('hfa_one', ['not-hex', sha256Hex('hfa_one').slice(0, 40), sha256Hex('hfa_one')])).toBe(2)
    expect(matchTokenSha256('hfa_three', agents.map((agent) => agent.tokenSha256))).toBe(-1)
    expect(matchTokenSha256('hfa_one', [])).toBe(-1)
  })

  it('names the agent whose token it is', () => {
    expect(authenticateAgent(agents, 'Bearer hfa_one')).toBe('onprem-1')
    expect(authenticateAgent(agents, 'Bearer hfa_two')).toBe('onprem-2')
  })

  it('answers 401 auth.missing_token without a bearer token, and 401 auth.invalid_token for an unknown one', () => {
    expect(() => authenticateAgent(agents, undefined)).toThrow(expect.objectContaining({ code: 'auth.missing_token', statusCode: 401, message: 'send the agent token as "Authorization: Bearer <token>"' }))
    expect(() => authenticateAgent(agents, 'Bearer hfa_three')).toThrow(expect.objectContaining({ code: 'auth.invalid_token', statusCode: 401, message: 'the agent token is not valid' }))
    expect(() => authenticateAgent([], 'Bearer hfa_one')).toThrow(expect.objectContaining({ code: 'auth.invalid_token' }))
  })
})

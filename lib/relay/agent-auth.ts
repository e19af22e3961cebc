import { createHash, timingSafeEqual } from 'node:crypto'
import type { AgentCredential } from '../config/server-config.ts'
import { HookferryError } from '../errors.ts'

/** SHA-256 hex of a token: what the config stores instead of the token. */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The token of an "Authorization: Bearer <token>" header, or undefined when there is none. */
export function bearerTokenOf(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1]
}

/**
 * Index of the first configured SHA-256 (hex) that is the hash of `token`, or -1. Every hash is
 * compared in constant time (no early exit), so timing reveals neither which one nor how much matched.
 */
export function matchTokenSha256(token: string, hashesHex: readonly string[]): number {
  const presented = createHash('sha256').update(token).digest()
  let matched = -1
  hashesHex.forEach((hashHex, index) => {
    const expected = Buffer.from(hashHex, 'hex')
    const equal = expected.length === presented.length && timingSafeEqual(presented, expected)
    if (equal && matched === -1) matched = index
  })
  return matched
}

/** Finds the agent whose token hash matches the bearer token (401 when none does). */
export function authenticateAgent(agents: readonly AgentCredential[], authorization: string | undefined): string {
  const token = bearerTokenOf(authorization)
  if (!token) throw new HookferryError('auth.missing_token', 'send the agent token as "Authorization: Bearer <token>"', { statusCode: 401 })
  const matched = agents[matchTokenSha256(token, agents.map((agent) => agent.tokenSha256))]
  if (!matched) throw new HookferryError('auth.invalid_token', 'the agent token is not valid', { statusCode: 401 })
  return matched.id
}

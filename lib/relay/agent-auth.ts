import { createHash, timingSafeEqual } from 'node:crypto'
import type { AgentCredential } from '../config/server-config.ts'
import { HookferryError } from '../errors.ts'

/** SHA-256 hex of a token: what the config stores instead of the token. */
export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex')

/**
 * Finds the agent whose token hash matches the bearer token. Every configured hash is compared
 * in constant time (no early exit), so timing reveals neither which agent nor how much matched.
 */
export function authenticateAgent(agents: readonly AgentCredential[], authorization: string | undefined): string {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1]
  if (!token) throw new HookferryError('auth.missing_token', 'send the agent token as "Authorization: Bearer <token>"', { statusCode: 401 })
  const presented = createHash('sha256').update(token).digest()
  let matched: string | undefined
  for (const agent of agents) {
    if (timingSafeEqual(presented, Buffer.from(agent.tokenSha256, 'hex')) && matched === undefined) matched = agent.id
  }
  if (!matched) throw new HookferryError('auth.invalid_token', 'the agent token is not valid', { statusCode: 401 })
  return matched
}

import type { ServerConfig } from '../config/server-config.ts'
import { HookferryError } from '../errors.ts'
import { bearerTokenOf, matchTokenSha256 } from '../relay/agent-auth.ts'

/**
 * Checks the admin bearer token against config.adminTokenSha256 (constant-time, like agent
 * tokens). Without a configured hash the admin API is closed: 403 whatever is sent.
 */
export function authenticateAdmin(config: Pick<ServerConfig, 'adminTokenSha256'>, authorization: string | undefined): void {
  if (config.adminTokenSha256 === undefined) {
    throw new HookferryError('admin.disabled', 'the admin API is disabled: set adminTokenSha256 in the server config ("hookferry token --admin" prints one)', { statusCode: 403 })
  }
  const token = bearerTokenOf(authorization)
  if (!token) throw new HookferryError('auth.missing_token', 'send the admin token as "Authorization: Bearer <token>"', { statusCode: 401 })
  if (matchTokenSha256(token, [config.adminTokenSha256]) === -1) throw new HookferryError('auth.invalid_token', 'the admin token is not valid', { statusCode: 401 })
}

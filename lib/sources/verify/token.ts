import { ConfigError } from '../../errors.ts'
import { SourceError } from '../source-error.ts'
import { matchesAny } from './constant-time.ts'
import { requireHeader, signingSecret } from './checks.ts'
import type { VerifyConfigOf, VerifyInput } from './types.ts'

type TokenConfig = VerifyConfigOf<'token'>

const AUTHORIZATION = 'authorization'
/** RFC 9110 auth-scheme names are case-insensitive; credentials follow after whitespace. */
const CREDENTIALS = /^(\S+)\s+(\S+)\s*$/

function tokenHeader(config: TokenConfig): string {
  if (config.type !== 'header') return AUTHORIZATION
  if (config.header === undefined || config.header === '') {
    throw new ConfigError('verify.header: token type "header" needs the name of the header that carries the token')
  }
  return config.header.toLowerCase()
}

/** The token as sent: the header value, the bearer token, or the decoded "user:pass" of Basic auth. */
function providedToken(config: TokenConfig, headers: Record<string, string>): string | Buffer {
  const value = requireHeader(headers, tokenHeader(config))
  if (config.type === 'header') return value
  // https://datatracker.ietf.org/doc/html/rfc6750#section-2.1 and rfc7617#section-2
  const expectedScheme = config.type === 'bearer' ? 'Bearer' : 'Basic'
  const match = CREDENTIALS.exec(value)
  if (match?.[1]?.toLowerCase() !== expectedScheme.toLowerCase() || match[2] === undefined) {
    throw new SourceError('source.signature_invalid', `the ${AUTHORIZATION} header does not carry ${expectedScheme} credentials`)
  }
  return config.type === 'basic' ? Buffer.from(match[2], 'base64') : match[2]
}

/** Verifies a shared token (Bearer, Basic "user:pass" or a named header) in constant time. */
export function verifyToken(config: TokenConfig, { headers }: VerifyInput): void {
  const provided = providedToken(config, headers)
  if (!matchesAny(config.secrets, [provided])) {
    throw new SourceError('source.signature_invalid', `the token in the ${tokenHeader(config)} header matches none of the configured secrets`)
  }
}

/** The header a caller sends to present the token. */
export function signTokenWebhook(config: TokenConfig): Record<string, string> {
  const secret = signingSecret(config.secrets)
  if (config.type === 'bearer') return { [AUTHORIZATION]: `Bearer ${secret}` }
  if (config.type === 'basic') return { [AUTHORIZATION]: `Basic ${Buffer.from(secret, 'utf8').toString('base64')}` }
  return { [tokenHeader(config)]: secret }
}

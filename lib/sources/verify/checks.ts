import { ConfigError } from '../../errors.ts'
import { SourceError } from '../source-error.ts'
import { matchesAny } from './constant-time.ts'

/** The value of a (lower-case) header, or a 401 naming the header when it is absent or empty. */
export function requireHeader(headers: Record<string, string>, name: string): string {
  const value = headers[name]
  if (value === undefined || value === '') {
    throw new SourceError('source.signature_missing', `the ${name} header is missing`)
  }
  return value
}

/** Throws a 401 naming the header unless one provided signature equals one expected signature. */
export function assertAnySignatureMatches(
  expected: readonly (string | Buffer)[],
  provided: readonly (string | Buffer)[],
  header: string,
): void {
  if (!matchesAny(expected, provided)) {
    throw new SourceError('source.signature_invalid', `the ${header} signature matches none of the configured secrets`)
  }
}

/** The secret a signer uses: the first one (later ones are only accepted, during a rotation). */
export function signingSecret(secrets: readonly string[]): string {
  const secret = secrets[0]
  if (secret === undefined) throw new ConfigError('verify.secrets: give at least one secret')
  return secret
}

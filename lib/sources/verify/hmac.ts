import { randomUUID } from 'node:crypto'
import { ConfigError } from '../../errors.ts'
import { assertAnySignatureMatches, requireHeader, signingSecret } from './checks.ts'
import { hmacDigest } from './hmac-digest.ts'
import { assertTimestampWithinTolerance, unixSeconds } from './timestamp.ts'
import type { SignOptions, VerifyConfigOf, VerifyInput } from './types.ts'

type HmacConfig = VerifyConfigOf<'hmac'>
interface SignedValues {
  timestamp: string | undefined
  id: string | undefined
}

const PLACEHOLDER = /(\{body\}|\{timestamp\}|\{id\})/

/** The parts of `signedContent` with its placeholders filled; the body stays raw bytes. */
function signedParts(config: HmacConfig, rawBody: Buffer, values: SignedValues): (string | Buffer)[] {
  return config.signedContent.split(PLACEHOLDER).map((part) => {
    if (part === '{body}') return rawBody
    if (part === '{timestamp}') return values.timestamp ?? missingHeaderConfig('{timestamp}', 'timestampHeader')
    if (part === '{id}') return values.id ?? missingHeaderConfig('{id}', 'idHeader')
    return part
  })
}

function missingHeaderConfig(placeholder: string, key: string): never {
  throw new ConfigError(`verify.signedContent uses ${placeholder}: set verify.${key} to the header that carries it`)
}

function hmacSignature(config: HmacConfig, secret: string, rawBody: Buffer, values: SignedValues): string {
  const digest = hmacDigest(config.algorithm, secret, signedParts(config, rawBody, values))
  return `${config.prefix}${digest.toString(config.encoding)}`
}

/** Verifies a configurable HMAC header: prefix + hex/base64 digest of the signedContent template. */
export function verifyHmacSignature(config: HmacConfig, { headers, rawBody, now }: VerifyInput): void {
  const header = config.header.toLowerCase()
  const provided = requireHeader(headers, header)
  const timestampHeader = config.timestampHeader?.toLowerCase()
  const values: SignedValues = {
    timestamp: timestampHeader === undefined ? undefined : requireHeader(headers, timestampHeader),
    id: config.idHeader === undefined ? undefined : requireHeader(headers, config.idHeader.toLowerCase()),
  }
  const expected = config.secrets.map((secret) => hmacSignature(config, secret, rawBody, values))
  assertAnySignatureMatches(expected, [provided], header)
  if (timestampHeader !== undefined && values.timestamp !== undefined) {
    assertTimestampWithinTolerance(values.timestamp, now, config.toleranceSeconds, `the ${timestampHeader} header`)
  }
}

/** The signature header (and timestamp and id headers, when configured) for `rawBody`. */
export function signHmacWebhook(config: HmacConfig, rawBody: Buffer, { now, id }: SignOptions): Record<string, string> {
  const values: SignedValues = {
    timestamp: config.timestampHeader === undefined ? undefined : String(unixSeconds(now)),
    id: config.idHeader === undefined ? undefined : (id ?? randomUUID()),
  }
  const headers: Record<string, string> = {
    [config.header.toLowerCase()]: hmacSignature(config, signingSecret(config.secrets), rawBody, values),
  }
  if (config.timestampHeader !== undefined && values.timestamp !== undefined) {
    headers[config.timestampHeader.toLowerCase()] = values.timestamp
  }
  if (config.idHeader !== undefined && values.id !== undefined) headers[config.idHeader.toLowerCase()] = values.id
  return headers
}

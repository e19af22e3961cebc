import { createHmac } from 'node:crypto'

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512'

/**
 * HMAC of the concatenated parts (strings as UTF-8, buffers as they are). The one place where
 * signatures are computed: verifying and signing both call it, so they cannot drift apart.
 */
export function hmacDigest(algorithm: HmacAlgorithm, key: string | Buffer, parts: readonly (string | Buffer)[]): Buffer {
  const hmac = createHmac(algorithm, key)
  for (const part of parts) hmac.update(part)
  return hmac.digest()
}

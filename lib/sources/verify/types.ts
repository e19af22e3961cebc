import type { VerifyConfig, VerifyScheme } from '../../config/server-config.ts'

/** The verify config of one scheme, e.g. `VerifyConfigOf<'stripe'>`. */
export type VerifyConfigOf<S extends VerifyScheme> = Extract<VerifyConfig, { scheme: S }>

/** What a verifier sees of a request: lower-case header names and the body exactly as received. */
export interface VerifyInput {
  headers: Record<string, string>
  rawBody: Buffer
  now: Date
}

/** What a signer needs besides the body: the clock and, optionally, the delivery id to send. */
export interface SignOptions {
  now: Date
  id?: string
}

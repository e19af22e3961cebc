import { HookferryError } from '../errors.ts'

/** Every way a webhook can be refused by its source layer, with the HTTP status the provider sees. */
const STATUS_BY_CODE = {
  'source.signature_missing': 401,
  'source.signature_invalid': 401,
  'source.timestamp_out_of_tolerance': 401,
  'source.unsupported_media_type': 415,
  'source.body_unparseable': 400,
  'source.record_id_missing': 400,
  'source.extract_failed': 400,
} as const

export type SourceErrorCode = keyof typeof STATUS_BY_CODE

/**
 * A webhook refused by verification, parsing or extraction. Messages name headers and keys,
 * never secrets, signature values or body content: they are shown to the caller and logged.
 */
export class SourceError extends HookferryError {
  declare readonly code: SourceErrorCode

  constructor(code: SourceErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { statusCode: STATUS_BY_CODE[code], ...options })
    this.name = 'SourceError'
  }
}

import { pino, type DestinationStream, type Logger } from 'pino'

/** Wherever these keys appear in a log line (top level or one object down), the value is replaced. */
const REDACTED_KEYS = new Set(['token', 'accessToken', 'access_token', 'authorization', 'password', 'secret', 'clientSecret', 'client_secret', 'apiKey', 'cookie'])
/** Besides those, in a `headers` object (top level or one object down). */
const REDACTED_HEADERS = new Set([...REDACTED_KEYS, 'x-api-key'])
const CENSOR = '[redacted]'

type Fields = Record<string, unknown>

/** An object whose own keys are what JSON.stringify writes (not an array, not an Error: pino serializes those itself). */
const isRecord = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Error)

/**
 * `fields` with the value of every key in `keys` replaced by the censor, and (while `depth` > 0)
 * the same done to each object one level down; a `headers` object is censored by header
 * name. The caller's objects are never changed: what needs censoring is copied, and a line with
 * nothing to censor (nearly all of them) is handed on as it is, without a copy.
 */
function redact(fields: Fields, keys: ReadonlySet<string>, depth: number): Fields {
  let copy: Fields | undefined
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue
    const value = fields[key]
    let replaced: unknown = value
    if (keys.has(key)) replaced = CENSOR
    else if (isRecord(value)) {
      if (key === 'headers') replaced = redact(value, REDACTED_HEADERS, 0)
      else if (depth > 0) replaced = redact(value, REDACTED_KEYS, depth - 1)
    }
    if (replaced !== value) (copy ??= { ...fields })[key] = replaced
  }
  return copy ?? fields
}

/** The redaction of a log line's fields and of a child logger's bindings (exported for tests). */
export const redactFields = (fields: Fields): Fields => redact(fields, REDACTED_KEYS, 1)

/**
 * The pino logger (JSON lines) of every hookferry process — server and agent alike. Tokens,
 * Authorization headers, passwords and client secrets are redacted by key.
 *
 * Not pino's `redact` option: with its wildcard paths it parses every path and copies the fields
 * on every line, a fifth of all the agent's allocations under load (block 5 of `npm run bench`).
 * These formatters look at each key once and copy only when something is censored.
 */
export function createLogger(options: { name: string; level?: string; destination?: DestinationStream }): Logger {
  const logger = pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      formatters: { log: redactFields },
    },
    options.destination ?? pino.destination(1),
  )
  // pino formats the bindings of the root logger only; children (and theirs: they inherit this) get theirs censored here.
  const child = logger.child
  logger.child = function (this: Logger, bindings: Fields, childOptions?: object) {
    return child.call(this, redactFields(bindings), childOptions)
  } as typeof child
  return logger
}

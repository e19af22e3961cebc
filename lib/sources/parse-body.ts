import { TextDecoder } from 'node:util'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { SourceError } from './source-error.ts'

/** A parsed Content-Type: lower-case media type and its charset (utf-8 unless given). */
interface MediaType {
  type: string
  charset: string
}

const DOCTYPE = /<!DOCTYPE/i
/** SOAP sources (Salesforce outbound messages): names without namespace prefixes, every value a string. */
const xmlParser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  ignoreDeclaration: true,
  // Values stay strings: "00123" is an id, not the number 123.
  parseTagValue: false,
  // Decodes numeric character references (&#233;) besides the five XML entities; DTD entities are refused below.
  htmlEntities: true,
})

function mediaTypeOf(contentType: string): MediaType {
  const [type = '', ...parameters] = contentType.split(';').map((part) => part.trim())
  let charset = 'utf-8'
  for (const parameter of parameters) {
    const [name, value] = parameter.split('=', 2)
    if (name?.trim().toLowerCase() === 'charset' && value) charset = value.trim().replace(/^"|"$/g, '').toLowerCase()
  }
  return { type: type.toLowerCase(), charset }
}

function decodeText(rawBody: Buffer, charset: string): string {
  let decoder: TextDecoder
  try {
    decoder = new TextDecoder(charset, { fatal: true })
  } catch (error) {
    throw new SourceError('source.unsupported_media_type', `the charset "${charset}" is not supported`, { cause: error })
  }
  try {
    return decoder.decode(rawBody)
  } catch (_error) {
    throw new SourceError('source.body_unparseable', `the body is not valid ${charset} text`)
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (_error) {
    // The parser's message quotes the body; the body is not ours to echo back or log.
    throw new SourceError('source.body_unparseable', `${what} is not valid JSON`)
  }
}

/** Sets a key as an own property, so a field named "__proto__" cannot change the prototype. */
function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/**
 * Form fields as an object (a repeated field becomes an array). A `payload` field holding JSON
 * is parsed: Slack interactive payloads and GitHub's form-encoded deliveries send JSON that way.
 */
function parseForm(text: string): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  for (const [key, value] of new URLSearchParams(text)) {
    const existing: unknown = Object.hasOwn(fields, key) ? fields[key] : undefined
    if (existing === undefined) setField(fields, key, value)
    else setField(fields, key, Array.isArray(existing) ? [...(existing as unknown[]), value] : [existing, value])
  }
  const payload = fields['payload']
  if (typeof payload === 'string' && /^\s*[[{]/.test(payload)) {
    fields['payload'] = parseJson(payload, 'the form field "payload"')
  }
  return fields
}

function parseXml(text: string): unknown {
  // No DTDs: they are how entity-expansion and external-entity attacks get in, and SOAP forbids them.
  if (DOCTYPE.test(text)) throw new SourceError('source.body_unparseable', 'XML bodies with a DOCTYPE are not accepted')
  const validation = XMLValidator.validate(text)
  if (validation !== true) {
    const { msg, line, col } = validation.err
    throw new SourceError('source.body_unparseable', `the body is not valid XML (line ${line}, column ${col}): ${msg}`)
  }
  try {
    return xmlParser.parse(text)
  } catch (error) {
    throw new SourceError('source.body_unparseable', 'the body is not valid XML', { cause: error })
  }
}

/** The parser for a media type, or undefined when the type is not supported. */
function parserFor(type: string): ((text: string) => unknown) | undefined {
  if (type === 'application/json' || type.endsWith('+json')) return (text) => parseJson(text, 'the body')
  if (type === 'application/x-www-form-urlencoded') return parseForm
  if (type === 'text/xml' || type === 'application/xml' || type.endsWith('+xml')) return parseXml
  return undefined
}

/**
 * Parses a webhook body by its Content-Type: JSON (and +json), form-encoded, XML (SOAP). An empty
 * body is `{}`. Throws 415 for any other type and 400 for a body that does not parse.
 */
export function parseBody(contentType: string | undefined, rawBody: Buffer): unknown {
  if (rawBody.length === 0) return {}
  if (contentType === undefined || contentType.trim() === '') {
    throw new SourceError('source.unsupported_media_type', 'the request has a body but no content-type header')
  }
  const { type, charset } = mediaTypeOf(contentType)
  const parse = parserFor(type)
  if (parse === undefined) {
    throw new SourceError('source.unsupported_media_type', `the content type "${type}" is not supported (use JSON, form-encoded or XML)`)
  }
  return parse(decodeText(rawBody, charset))
}

import type { LeaseGrant } from '../../relay/agent-api.ts'
import { permanentError } from '../errors.ts'

export type TemplateValues = Record<string, string | number | boolean | null | undefined>
/** How a value is written into the template: URL-encoded (URLs), JSON-string-escaped (JSON bodies) or as is (headers). */
export type TemplateEscape = 'url' | 'json' | 'none'

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** The values request templates can use: {id}, {type}, {event}, {requestId}, {source}. */
export function requestValues(lease: Pick<LeaseGrant, 'recordId' | 'recordType' | 'event' | 'requestId' | 'source'>): TemplateValues {
  return { id: lease.recordId, type: lease.recordType ?? '', event: lease.event ?? '', requestId: lease.requestId, source: lease.source }
}

/** Replaces `{name}` placeholders; a placeholder without a value is a (permanent) error. */
export function renderTemplate(template: string, values: TemplateValues, escape: TemplateEscape): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    if (!Object.hasOwn(values, name)) throw permanentError('agent.template_failed', `template "${template}": no value for {${name}}`)
    const text = values[name] === undefined || values[name] === null ? '' : String(values[name])
    if (escape === 'url') return encodeURIComponent(text)
    if (escape === 'json') return JSON.stringify(text).slice(1, -1)
    // A line break inside a header value would smuggle in another header.
    return text.replace(/[\r\n]/g, '')
  })
}

/** Renders every header value template. */
export function renderHeaders(headers: Record<string, string>, values: TemplateValues): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), renderTemplate(value, values, 'none')]))
}

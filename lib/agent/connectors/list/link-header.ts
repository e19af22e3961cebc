/**
 * The `rel="next"` target of a Link header (RFC 8288), resolved against the request URL; undefined
 * when there is none. GitHub and Shopify paginate this way.
 */
export function nextLink(header: string | undefined, base: string): string | undefined {
  if (!header) return undefined
  for (const link of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(link)
    if (!match) continue
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(match[2]!)
    const relations = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/)
    if (relations.includes('next')) return new URL(match[1]!, base).href
  }
  return undefined
}

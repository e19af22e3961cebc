import { createHash } from 'node:crypto'

/** JSON with object keys sorted at every level, so equal content always gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'undefined'
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object') return value
  const record = value as Record<string, unknown>
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .filter((key) => record[key] !== undefined)
      .map((key) => [key, sortKeys(record[key])]),
  )
}

/** Removes dotted paths (`metadata.synced_at`) from a copy of `value`; missing paths are fine. */
export function withoutFields(value: unknown, paths: readonly string[]): unknown {
  if (paths.length === 0 || value === null || typeof value !== 'object') return value
  const copy = structuredClone(value) as Record<string, unknown>
  for (const path of paths) {
    const keys = path.split('.')
    let parent: unknown = copy
    for (const key of keys.slice(0, -1)) parent = parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>)[key] : undefined
    if (parent !== null && typeof parent === 'object') delete (parent as Record<string, unknown>)[keys.at(-1)!]
  }
  return copy
}

/** Hex SHA-256 of the canonical JSON of `value` minus `ignoreFields`: "is this the content we delivered last?" */
export function contentHash(value: unknown, ignoreFields: readonly string[] = []): string {
  return createHash('sha256').update(canonicalJson(withoutFields(value, ignoreFields))).digest('hex')
}

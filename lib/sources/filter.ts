const compiledGlobs = new Map<string, RegExp>()

/** A glob where `*` matches any run of characters (dots included) and everything else is literal. */
function globToRegExp(pattern: string): RegExp {
  let compiled = compiledGlobs.get(pattern)
  if (compiled === undefined) {
    const source = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')
    compiled = new RegExp(`^${source}$`, 's')
    compiledGlobs.set(pattern, compiled)
  }
  return compiled
}

const matchesAnyGlob = (patterns: readonly string[], event: string): boolean =>
  patterns.some((pattern) => globToRegExp(pattern).test(event))

/**
 * Whether a source's filter lets an event through: an empty include list lets all in, exclude
 * wins over include, and a webhook without an event name passes only when include is empty.
 */
export function isEventIncluded(filter: { include: readonly string[]; exclude: readonly string[] }, event: string | undefined): boolean {
  if (event === undefined) return filter.include.length === 0
  if (filter.include.length > 0 && !matchesAnyGlob(filter.include, event)) return false
  return !matchesAnyGlob(filter.exclude, event)
}

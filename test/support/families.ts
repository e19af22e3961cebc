/**
 * The adapter families a run tests: all of them, or those whose name starts with one of the
 * comma-separated prefixes in HOOKFERRY_TEST_FAMILIES (`local`: SQLite only). The mutation run
 * uses it to stay off the emulators; a filter that matches nothing is an error, never an empty suite.
 */
export function selectedFamilies<T extends { name: string }>(families: T[], filter = process.env.HOOKFERRY_TEST_FAMILIES): T[] {
  if (!filter) return families
  const prefixes = filter.split(',').map((prefix) => prefix.trim()).filter(Boolean)
  const selected = families.filter((family) => prefixes.some((prefix) => family.name.startsWith(prefix)))
  if (selected.length === 0) throw new Error(`HOOKFERRY_TEST_FAMILIES=${filter} matches none of: ${families.map((family) => family.name).join(', ')}`)
  return selected
}

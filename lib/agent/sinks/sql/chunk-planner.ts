import type { Delivery } from '../sink.ts'

/** The deliveries of one parent key inside a chunk: only the last is written (last wins). */
export interface KeyGroup {
  key: string
  delivery: Delivery
  /** Positions in the chunk of every delivery of this key (all get the outcome of the last). */
  positions: number[]
}

/** Code-unit order: the same in every process, which is what keeps concurrent writers from deadlocking. */
export const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Groups a chunk by parent key, keeping the last delivery of each (so one statement never touches
 * a row twice: no "ON CONFLICT DO UPDATE command cannot affect row a second time"), sorted by key
 * so that two transactions lock shared rows in the same order.
 */
export function groupByKey(deliveries: readonly Delivery[]): KeyGroup[] {
  const groups = new Map<string, KeyGroup>()
  deliveries.forEach((delivery, position) => {
    const group = groups.get(delivery.recordId)
    if (group) {
      group.delivery = delivery
      group.positions.push(position)
    } else groups.set(delivery.recordId, { key: delivery.recordId, delivery, positions: [position] })
  })
  return [...groups.values()].sort((a, b) => byText(a.key, b.key))
}

/** Keeps the last of items with the same key, sorted by key. */
export function lastByKey<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  const last = new Map<string, T>()
  for (const item of items) last.set(keyOf(item), item)
  return [...last.entries()].sort(([a], [b]) => byText(a, b)).map(([, item]) => item)
}

/**
 * Cuts `items` into statements of at most `maxParameters` placeholders, `perItem` each (plus
 * `fixed` per statement): a 20,000-row chunk of 10 columns becomes 4 statements under 65,535.
 */
export function underParameterLimit<T>(items: readonly T[], perItem: number, maxParameters: number, fixed = 0): T[][] {
  const size = Math.max(1, Math.floor((maxParameters - fixed) / Math.max(1, perItem)))
  const slices: T[][] = []
  for (let start = 0; start < items.length; start += size) slices.push(items.slice(start, start + size))
  return slices
}

/** Splits rows by their column list (records with different fields cannot share a VALUES list). */
export function byColumns<T extends { columns: readonly string[]; key: string }>(rows: readonly T[]): T[][] {
  // By reference first (the row builder shares equal column arrays), then by content.
  const byReference = new Map<readonly string[], T[]>()
  for (const row of rows) {
    const group = byReference.get(row.columns)
    if (group) group.push(row)
    else byReference.set(row.columns, [row])
  }
  const groups = new Map<string, T[]>()
  const merged = new Set<T[]>()
  for (const [columns, group] of byReference) {
    const signature = columns.join('\u0000')
    const same = groups.get(signature)
    if (same) {
      for (const row of group) same.push(row)
      merged.add(same)
    } else groups.set(signature, group)
  }
  // Merged groups are put back in key order, for the lock order.
  for (const group of merged) group.sort((a, b) => byText(a.key, b.key))
  return [...groups.values()]
}

/** Plain-text output for admin commands: aligned columns, short ages and durations. */

export interface Column<T> {
  header: string
  value: (row: T) => string
  /** Numbers read best right-aligned. */
  align?: 'left' | 'right'
}

const GAP = '  '

/** An aligned table: upper-case headers, one row per line, no trailing spaces. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [columns.map((column) => column.header.toUpperCase()), ...rows.map((row) => columns.map((column) => oneLine(column.value(row))))]
  const widths = columns.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)))
  return cells
    .map((line) => line.map((cell, index) => (columns[index]!.align === 'right' ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join(GAP).trimEnd())
    .join('\n')
}

/** "key  value" lines with the keys aligned (the head of `hookferry show`). */
export function renderPairs(pairs: readonly (readonly [string, string | undefined])[]): string {
  const shown = pairs.filter((pair): pair is readonly [string, string] => pair[1] !== undefined && pair[1] !== '')
  const width = Math.max(0, ...shown.map(([key]) => key.length))
  return shown.map(([key, value]) => `${key.padEnd(width)}${GAP}${oneLine(value)}`).join('\n')
}

const DURATION_UNITS: readonly (readonly [number, string])[] = [[86_400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']]

/** 45s, 12m 5s, 3h 10m, 2d 4h: the largest unit and the next one (when not zero). */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.round(totalSeconds))
  const index = DURATION_UNITS.findIndex(([size]) => seconds >= size)
  if (index === -1) return '0s'
  const [size, unit] = DURATION_UNITS[index]!
  const next = DURATION_UNITS[index + 1]
  const minor = next ? Math.floor((seconds % size) / next[0]) : 0
  return next && minor > 0 ? `${Math.floor(seconds / size)}${unit} ${minor}${next[1]}` : `${Math.floor(seconds / size)}${unit}`
}

/** Milliseconds as 850ms or 2.3s. */
export function formatMilliseconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`
}

/** "5m ago" (or "in 5m" for a future time). */
export function formatAgo(iso: string, now: Date): string {
  const seconds = (now.getTime() - Date.parse(iso)) / 1000
  return seconds >= 0 ? `${formatDuration(seconds)} ago` : `in ${formatDuration(-seconds)}`
}

/** Cuts text to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** "code: message", the way errors show in tables. */
export function formatError(error: { code?: string; message: string } | undefined): string {
  if (!error) return ''
  return error.code ? `${error.code}: ${error.message}` : error.message
}

// A newline inside a cell would break the alignment of every row after it.
const oneLine = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, ' ')

import type { Summary } from './stats.ts'

/** One line of the table: a figure, its spread, and the floor measured in the same run. */
export interface Row {
  block: string
  runtime: 'embedded' | 'aws' | '-'
  figure: string
  unit: string
  median: number
  /** For latencies the 99th percentile; for rates the slow tail (1st percentile of per-interval rates). */
  p99?: number
  floor?: number
  /** median / floor: how many times the floor (latencies, sizes, costs) or what share of it (rates). */
  ratio?: number
}

export interface Report {
  rows: Row[]
  /** What each floor is, and other assumptions, in words. */
  notes: string[]
  /** Loss and duplicate counts of the throughput runs: anything but 0 fails the bench. */
  failures: string[]
}

/** A row from a sample summary; `rate` rows report the slow tail (p1) in the p99 column. */
export function row(fields: Omit<Row, 'median' | 'p99' | 'ratio'>, summary: Summary, options: { rate?: boolean; floor?: number } = {}): Row {
  const floor = options.floor ?? fields.floor
  return {
    ...fields,
    median: summary.median,
    p99: options.rate ? summary.p1 : summary.p99,
    ...(floor === undefined ? {} : { floor, ratio: summary.median / floor }),
  }
}

/** A row for a single value (a size, a cost): no spread. */
export function valueRow(fields: Omit<Row, 'median' | 'p99' | 'ratio' | 'floor'>, value: number, floor?: number): Row {
  return { ...fields, median: value, ...(floor === undefined ? {} : { floor, ratio: value / floor }) }
}

function format(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return '-'
  if (unit === '$') return value < 0.01 ? value.toFixed(4) : value.toFixed(2)
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US')
  if (Math.abs(value) >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

/** The table as text: one line per figure, columns aligned. */
export function renderTable(rows: readonly Row[]): string {
  const header = ['block', 'runtime', 'figure', 'unit', 'median', 'p99', 'floor', '× floor']
  const lines = rows.map((entry) => [
    entry.block,
    entry.runtime,
    entry.figure,
    entry.unit,
    format(entry.median, entry.unit),
    format(entry.p99, entry.unit),
    format(entry.floor, entry.unit),
    entry.ratio === undefined ? '-' : `${entry.ratio.toFixed(entry.ratio < 10 ? 2 : 1)}×`,
  ])
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)))
  const numeric = new Set([4, 5, 6, 7])
  const render = (cells: string[]) => cells.map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd()
  return [render(header), widths.map((width) => '─'.repeat(width)).join('  '), ...lines.map(render)].join('\n')
}

const benchStartedAt = performance.now()

/** Progress for a human watching: one line per block on stderr (with the seconds since the start), never on stdout (which may be JSON). */
export const progress = (line: string): void => {
  console.error(`bench ${Math.round((performance.now() - benchStartedAt) / 1000)
    .toString()
    .padStart(3)} s: ${line}`)
}

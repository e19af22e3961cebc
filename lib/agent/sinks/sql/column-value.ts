/** How hookferry converts a JSON value for a column, by the column's type family. */
export type ColumnKind = 'json' | 'integer' | 'number' | 'boolean' | 'timestamp' | 'date' | 'text' | 'array' | 'other'

/** A column of a table, as the startup schema check read it. */
export interface ColumnInfo {
  name: string
  /** The database's own type name, for messages (e.g. `timestamp with time zone`). */
  type: string
  kind: ColumnKind
}

/** A value that cannot go into its column: fails that one record, with this message. */
export class ColumnValueError extends Error {}

const INTEGER = /^[+-]?\d+$/
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/

const show = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/**
 * The value to send for `column`: JSON goes to json/jsonb as JSON text, numbers and timestamps are
 * checked (ISO-8601 strings, or numbers of seconds since the epoch as Unix and Stripe send them),
 * objects into text columns become JSON text. `dates: 'date'` hands timestamps over as Date
 * objects (mysql2 formats them in UTC), else as ISO strings. Throws ColumnValueError.
 */
export function columnValue(value: unknown, column: ColumnInfo, dates: 'date' | 'iso'): unknown {
  if (value === undefined || value === null) return null
  const fail = (expected: string): never => {
    throw new ColumnValueError(`column ${column.name} (${column.type}) cannot take ${show(value)}: expected ${expected}`)
  }
  switch (column.kind) {
    case 'json':
      return JSON.stringify(value)
    case 'integer':
      if (typeof value === 'number') return Number.isInteger(value) ? value : fail('a whole number')
      if (typeof value === 'string') return INTEGER.test(value.trim()) ? value.trim() : fail('a whole number')
      if (typeof value === 'boolean') return value ? 1 : 0
      return fail('a whole number')
    case 'number':
      if (typeof value === 'number') return Number.isFinite(value) ? value : fail('a finite number')
      if (typeof value === 'string') return NUMBER.test(value.trim()) ? value.trim() : fail('a number')
      return fail('a number')
    case 'boolean':
      if (typeof value === 'boolean') return value
      if (value === 0 || value === 1) return value === 1
      if (value === 'true' || value === 'false') return value === 'true'
      return fail('true or false')
    case 'date':
      if (typeof value === 'string' && DATE_ONLY.test(value)) return value
      return timestamp(value, dates, fail)
    case 'timestamp':
      return timestamp(value, dates, fail)
    case 'text':
      if (typeof value === 'string') return value
      if (typeof value === 'number' || typeof value === 'boolean') return String(value)
      return JSON.stringify(value)
    case 'array':
      return Array.isArray(value) ? value : fail('an array')
    case 'other':
      if (typeof value === 'object') return fail('a string, number or boolean')
      return value
  }
}

function timestamp(value: unknown, dates: 'date' | 'iso', fail: (expected: string) => never): unknown {
  const expected = 'an ISO-8601 timestamp or seconds since the epoch'
  let date: Date
  if (typeof value === 'number') date = new Date(value * 1000)
  else if (typeof value === 'string') date = new Date(value)
  else return fail(expected)
  if (Number.isNaN(date.getTime())) return fail(expected)
  if (dates === 'date') return date
  // PostgreSQL parses more formats than Date does (and keeps microseconds): pass checked strings on.
  return typeof value === 'string' ? value : date.toISOString()
}

import type { KeyGroup } from './chunk-planner.ts'
import { compileColumnExpression, type ColumnExpression } from './column-expression.ts'
import { columnValue, ColumnValueError, type ColumnInfo } from './column-value.ts'
import type { SqlChildConfig, SqlDeliverConfig } from './sql-config.ts'
import type { TableShape } from './sql-driver.ts'

/** One row to write: its columns and converted values; `key` is its key as text. */
export interface BuiltRow {
  key: string
  columns: string[]
  values: unknown[]
}

/** A parent key's change, ready for SQL: the row and its children (one list per `children` entry). */
export interface BuiltChange {
  group: KeyGroup
  op: 'upsert' | 'delete'
  /** The key column's value, converted for its type. */
  keyValue: unknown
  row?: BuiltRow
  children: BuiltRow[][]
}

type Mapping = '*' | [column: string, expression: ColumnExpression][]

/** Key values joined: what the child rows of the database and of the record are compared by. */
export const keyText = (values: readonly unknown[]): string => values.map((value) => (value instanceof Date ? value.toISOString() : String(value))).join('\u0000')

const compileMapping = (columns: '*' | Record<string, string>, key: string): Mapping =>
  columns === '*' ? '*' : Object.entries(columns).map(([column, source]) => [column, compileColumnExpression(source, `${key}.columns.${column}`)])

const evaluate = async (expression: ColumnExpression, input: unknown) => {
  const value = expression(input)
  return value instanceof Promise ? await value : value
}

/**
 * Turns deliveries into rows: the key column gets the record id, `columns` are evaluated over the
 * transformed record (compiled once), bookkeeping columns (deletedAt, runColumn, versionColumn)
 * are filled in, and every value is converted for its column's type. A record that cannot be
 * converted throws ColumnValueError: it fails alone, before any SQL runs.
 */
export function createRowBuilder(config: SqlDeliverConfig, shapes: { parent: TableShape; children: TableShape[] }, dates: 'date' | 'iso', key: string) {
  const mapping = compileMapping(config.columns, key)
  const managed = new Set([config.key, config.localKey, config.deletedAt, config.runColumn].filter((name) => name !== undefined))
  const children = config.children.map((child, index) => ({
    config: child,
    shape: shapes.children[index]!,
    rowsOf: compileColumnExpression(child.rows, `${key}.children.${index}.rows`),
    mapping: compileMapping(child.columns, `${key}.children.${index}`),
    keyColumns: typeof child.key === 'string' ? [child.key] : child.key,
  }))

  const convert = (shape: TableShape, table: string, column: string, value: unknown) => {
    const info: ColumnInfo | undefined = shape.columns.get(column)
    if (!info) throw new ColumnValueError(`field ${column} is not a column of table ${table}`)
    return columnValue(value, info, dates)
  }

  // Rows of a table with the same columns share one array, so grouping them for a statement compares references.
  const interned = new Map<string, string[]>()
  const intern = (table: string, columns: string[]) => {
    const last = interned.get(table)
    if (last && columns.length === last.length && columns.every((column, index) => column === last[index])) return last
    interned.set(table, columns)
    return columns
  }

  /** The mapped (or, with '*', the record's own) columns and values, minus the ones hookferry fills in. */
  const mapped = async (mappingOf: Mapping, input: unknown, skip: ReadonlySet<string>, where: string): Promise<[string, unknown][]> => {
    if (mappingOf !== '*') {
      const pairs: [string, unknown][] = []
      for (const [column, expression] of mappingOf) {
        // Plain paths answer synchronously: no promise per value (a sync chunk has hundreds of thousands).
        const value = expression(input)
        pairs.push([column, value instanceof Promise ? await value : value])
      }
      return pairs
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ColumnValueError(`${where} is not an object, so its fields cannot be columns (columns: '*')`)
    return Object.entries(input).filter(([field]) => !skip.has(field))
  }

  const buildChildren = async (child: (typeof children)[number], record: unknown, parentKey: unknown): Promise<BuiltRow[]> => {
    const { config: childConfig, shape } = child
    const value = await evaluate(child.rowsOf, record)
    const rows = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value]
    const skip = new Set([childConfig.parentKey, childConfig.deletedAt].filter((name) => name !== undefined))
    return Promise.all(rows.map((input) => buildChildRow(childConfig, shape, child.mapping, child.keyColumns, input, parentKey, skip)))
  }

  const buildChildRow = async (childConfig: SqlChildConfig, shape: TableShape, mappingOf: Mapping, keyColumns: string[], input: unknown, parentKey: unknown, skip: Set<string>): Promise<BuiltRow> => {
    const pairs = await mapped(mappingOf, input, skip, `a child row of ${childConfig.table}`)
    const row = new Map<string, unknown>(pairs.map(([column, raw]) => [column, convert(shape, childConfig.table, column, raw)]))
    row.set(childConfig.parentKey, parentKey)
    if (childConfig.deletedAt) row.set(childConfig.deletedAt, null)
    const keyValues = keyColumns.map((column) => row.get(column))
    const missing = keyColumns.filter((_, index) => keyValues[index] === null || keyValues[index] === undefined)
    if (missing.length > 0) throw new ColumnValueError(`a child row of ${childConfig.table} has no ${missing.join(', ')} (its key)`)
    return { key: keyText(keyValues), columns: intern(childConfig.table, [...row.keys()]), values: [...row.values()] }
  }

  return async function build(group: KeyGroup): Promise<BuiltChange> {
    const { delivery } = group
    const parentKey = convert(shapes.parent, config.table, config.key, delivery.recordId)
    if (delivery.op === 'delete') return { group, op: 'delete', keyValue: parentKey, children: [] }
    const row = new Map<string, unknown>([[config.key, parentKey]])
    for (const [column, raw] of await mapped(mapping, delivery.record, managed, 'the record')) row.set(column, convert(shapes.parent, config.table, column, raw))
    if (config.versionColumn && !row.has(config.versionColumn)) {
      if (delivery.version === undefined) throw new ColumnValueError(`versionColumn ${config.versionColumn}: the delivery has no version (set fetch.version, or map the column in columns)`)
      row.set(config.versionColumn, convert(shapes.parent, config.table, config.versionColumn, delivery.version))
    }
    if (config.versionColumn && (row.get(config.versionColumn) ?? null) === null) throw new ColumnValueError(`versionColumn ${config.versionColumn}: the record's version is empty`)
    if (config.deletedAt) row.set(config.deletedAt, null)
    if (config.runColumn) row.set(config.runColumn, convert(shapes.parent, config.table, config.runColumn, delivery.runId ?? null))
    const builtChildren: BuiltRow[][] = []
    for (const child of children) builtChildren.push(await buildChildren(child, delivery.record, parentKey))
    return { group, op: 'upsert', keyValue: parentKey, row: { key: group.key, columns: intern(config.table, [...row.keys()]), values: [...row.values()] }, children: builtChildren }
  }
}

export type RowBuilder = ReturnType<typeof createRowBuilder>

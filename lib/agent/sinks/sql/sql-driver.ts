import type { ColumnInfo } from './column-value.ts'
import type { ErrorKind } from './sql-errors.ts'

/** One connection inside a transaction. Placeholders are written with `params.add` (see Params). */
export interface SqlConnection {
  query(sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]>
  /** PostgreSQL: `COPY … FROM STDIN` of text-format rows. */
  copyIn?(sql: string, text: string): Promise<void>
}

/** A table as the startup check sees it; undefined when it does not exist. */
export interface TableShape {
  columns: Map<string, ColumnInfo>
  /** The column sets of its unique keys (primary key included). */
  uniqueKeys: string[][]
}

/** Rows of one upsert statement group: the same columns for every row. */
export interface UpsertRows {
  table: string
  /** The unique key the upsert matches on. */
  keyColumns: readonly string[]
  columns: readonly string[]
  rows: readonly (readonly unknown[])[]
  /** Only an equal or newer value of this column overwrites a row. */
  versionColumn?: string
  /** Parents: answer which keys were written (not stale), and their local key when set. */
  returning?: { localKey?: string }
}

/** What the upsert wrote: the keys (as text) that were written, with their local key. */
export type Written = Map<string, unknown>

/** What differs between PostgreSQL and MySQL/MariaDB; everything else is shared (write-chunk.ts). */
export interface SqlDriver {
  name: string
  /** The driver's limit on placeholders in one statement. */
  maxParameters: number
  /** How timestamps are handed to the driver (see columnValue). */
  dates: 'date' | 'iso'
  /** `$1` or `?`. */
  placeholder(index: number): string
  /** A quoted identifier; `schema.table` quotes both parts. */
  quote(name: string): string
  /** SQL for the current time. */
  now: string
  describeTable(table: string): Promise<TableShape | undefined>
  transaction<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T>
  /** One query outside a transaction. */
  query(sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]>
  /** Multi-row upsert of one group (the driver splits it under its parameter limit). */
  upsert(connection: SqlConnection, rows: UpsertRows): Promise<Written | undefined>
  classify(error: unknown): ErrorKind
  close(): Promise<void>
}

/** Collects the values of one statement and writes their placeholders. */
export class Params {
  readonly values: unknown[] = []
  readonly #placeholder: (index: number) => string

  constructor(placeholder: (index: number) => string) {
    this.#placeholder = placeholder
  }

  add(value: unknown): string {
    this.values.push(value)
    return this.#placeholder(this.values.length)
  }

  /** `(…, …)` of the values: a row of VALUES, an IN list, or a row constructor. */
  list(values: readonly unknown[]): string {
    return `(${values.map((value) => this.add(value)).join(', ')})`
  }
}

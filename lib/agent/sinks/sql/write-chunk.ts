import { byColumns, lastByKey, underParameterLimit } from './chunk-planner.ts'
import { keyText, type BuiltChange, type BuiltRow } from './row-builder.ts'
import type { SqlChildConfig, SqlDeliverConfig } from './sql-config.ts'
import { Params, type SqlConnection, type SqlDriver, type Written } from './sql-driver.ts'

/** How one change ended: written (with the local key), or not written because the row was newer. */
export interface ChangeResult {
  stale?: boolean
  localKey?: unknown
}

const childKeyColumns = (child: SqlChildConfig): string[] => (typeof child.key === 'string' ? [child.key] : child.key)

/**
 * The body of one chunk's transaction: parents upserted (multi-row, under the parameter limit),
 * then their children replaced as a set, then deletes (children first). Everything the chunk
 * writes commits together or not at all.
 */
export async function writeChanges(connection: SqlConnection, driver: SqlDriver, config: SqlDeliverConfig, changes: readonly BuiltChange[]): Promise<Map<BuiltChange, ChangeResult>> {
  const results = new Map<BuiltChange, ChangeResult>()
  const upserts = changes.filter((change) => change.op === 'upsert')
  const returning = config.versionColumn !== undefined || config.localKey !== undefined
  let written: Written | undefined
  for (const group of byColumns(upserts.map((change) => change.row!))) {
    const answer = await driver.upsert(connection, {
      table: config.table,
      keyColumns: [config.key],
      columns: group[0]!.columns,
      rows: group.map((row) => row.values),
      ...(config.versionColumn ? { versionColumn: config.versionColumn } : {}),
      ...(returning ? { returning: config.localKey ? { localKey: config.localKey } : {} } : {}),
    })
    if (answer) for (const [key, localKey] of answer) (written ??= new Map()).set(key, localKey)
  }
  const fresh = written === undefined ? upserts : upserts.filter((change) => written!.has(change.group.key))
  for (const change of upserts) {
    const isWritten = written === undefined || written.has(change.group.key)
    const localKey = written?.get(change.group.key)
    results.set(change, isWritten ? (config.localKey && localKey !== undefined ? { localKey } : {}) : { stale: true })
  }
  if (fresh.length > 0) {
    for (const [index, child] of config.children.entries()) {
      await replaceChildren(connection, driver, child, fresh.map((change) => change.keyValue), fresh.flatMap((change) => change.children[index]!))
    }
  }
  const deletes = changes.filter((change) => change.op === 'delete')
  if (deletes.length > 0) await deleteParents(connection, driver, config, deletes.map((change) => change.keyValue))
  for (const change of deletes) results.set(change, {})
  return results
}

/** Deletes (or soft-deletes) parents and their children by key: the children first, for foreign keys. */
export async function deleteParents(connection: SqlConnection, driver: SqlDriver, config: SqlDeliverConfig, keys: readonly unknown[]): Promise<void> {
  for (const child of config.children) await remove(connection, driver, { table: child.table, mode: child.delete, deletedAt: child.deletedAt }, [child.parentKey], keys.map((key) => [key]))
  await remove(connection, driver, { table: config.table, mode: config.delete, deletedAt: config.deletedAt }, [config.key], keys.map((key) => [key]))
}

/**
 * The children of these parents become exactly `rows`: the live ones that vanished are deleted
 * (or soft-deleted), the rest upserted. The parents' rows are locked by their upsert first, so two
 * writers of one parent's children take turns.
 */
async function replaceChildren(connection: SqlConnection, driver: SqlDriver, child: SqlChildConfig, parentKeys: readonly unknown[], rows: readonly BuiltRow[]): Promise<void> {
  const keyColumns = childKeyColumns(child)
  const wanted = lastByKey(rows, (row) => row.key)
  const keep = new Set(wanted.map((row) => row.key))
  const vanished: unknown[][] = []
  for (const slice of underParameterLimit(parentKeys, 1, driver.maxParameters)) {
    const params = new Params(driver.placeholder)
    const live = child.delete === 'soft' ? ` AND ${driver.quote(child.deletedAt!)} IS NULL` : ''
    const sql = `SELECT ${keyColumns.map((column) => driver.quote(column)).join(', ')} FROM ${driver.quote(child.table)} WHERE ${driver.quote(child.parentKey)} IN ${params.list(slice)}${live}`
    for (const existing of await connection.query(sql, params.values)) {
      const values = keyColumns.map((column) => existing[column])
      if (!keep.has(keyText(values))) vanished.push(values)
    }
  }
  await remove(connection, driver, { table: child.table, mode: child.delete, deletedAt: child.deletedAt }, keyColumns, vanished)
  for (const group of byColumns(wanted)) {
    await driver.upsert(connection, { table: child.table, keyColumns, columns: group[0]!.columns, rows: group.map((row) => row.values) })
  }
}

/** DELETE, or UPDATE … SET deletedAt = now, of the rows whose `columns` hold one of `keys`. */
async function remove(connection: SqlConnection, driver: SqlDriver, target: { table: string; mode: 'hard' | 'soft'; deletedAt: string | undefined }, columns: readonly string[], keys: readonly (readonly unknown[])[]): Promise<void> {
  const matched = columns.length === 1 ? driver.quote(columns[0]!) : `(${columns.map((column) => driver.quote(column)).join(', ')})`
  for (const slice of underParameterLimit(keys, columns.length, driver.maxParameters)) {
    const params = new Params(driver.placeholder)
    const list = columns.length === 1 ? params.list(slice.map((key) => key[0])) : `(${slice.map((key) => params.list(key)).join(', ')})`
    const where = `${matched} IN ${list}`
    const sql =
      target.mode === 'hard'
        ? `DELETE FROM ${driver.quote(target.table)} WHERE ${where}`
        : `UPDATE ${driver.quote(target.table)} SET ${driver.quote(target.deletedAt!)} = ${driver.now} WHERE ${where} AND ${driver.quote(target.deletedAt!)} IS NULL`
    await connection.query(sql, params.values)
  }
}

import { ConfigError } from '../../../errors.ts'
import type { SqlDeliverConfig } from './sql-config.ts'
import type { SqlDriver, TableShape } from './sql-driver.ts'

const sameColumns = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((column) => b.includes(column))

/**
 * Reads the target tables once at start-up and names, one line each, every table, column or
 * unique key the config needs and the database lacks, so a typo is not a stack trace at the
 * first record. Nothing is created or altered.
 */
export async function checkSchema(driver: SqlDriver, config: SqlDeliverConfig, key: string): Promise<{ parent: TableShape; children: TableShape[] }> {
  const problems: string[] = []
  const check = async (where: string, table: string, columns: [string, string | undefined][], uniqueKey: string[]): Promise<TableShape> => {
    const shape = await driver.describeTable(table)
    if (!shape) {
      problems.push(`${where}.table: table ${table} does not exist in the ${driver.name} database (hookferry never creates your tables)`)
      return { columns: new Map(), uniqueKeys: [] }
    }
    for (const [option, column] of columns) {
      if (column !== undefined && !shape.columns.has(column)) problems.push(`${where}.${option}: table ${table} has no column ${column}`)
    }
    if (uniqueKey.every((column) => shape.columns.has(column)) && !shape.uniqueKeys.some((unique) => sameColumns(unique, uniqueKey))) {
      problems.push(`${where}.key: table ${table} has no unique key on exactly (${uniqueKey.join(', ')}): the upsert needs one (CREATE UNIQUE INDEX … ON ${table} (${uniqueKey.join(', ')}))`)
    }
    return shape
  }
  const mapped = (columns: '*' | Record<string, string>): [string, string][] => (columns === '*' ? [] : Object.keys(columns).map((column) => [`columns.${column}`, column]))

  try {
    const parent = await check(key, config.table, [['key', config.key], ['localKey', config.localKey], ['versionColumn', config.versionColumn], ['deletedAt', config.deletedAt], ['runColumn', config.runColumn], ...mapped(config.columns)], [config.key])
    const children: TableShape[] = []
    for (const [index, child] of config.children.entries()) {
      const childKey = typeof child.key === 'string' ? [child.key] : child.key
      const columns: [string, string | undefined][] = [...childKey.map((column): [string, string] => ['key', column]), ['parentKey', child.parentKey], ['deletedAt', child.deletedAt], ...mapped(child.columns)]
      children.push(await check(`${key}.children.${index}`, child.table, columns, childKey))
    }
    if (config.rejects && !config.rejects.create && !(await driver.describeTable(config.rejects.table))) {
      problems.push(`${key}.rejects.table: table ${config.rejects.table} does not exist: set rejects.create: true to let hookferry create it`)
    }
    if (problems.length > 0) throw new ConfigError(problems.join('\n'))
    return { parent, children }
  } catch (error) {
    if (error instanceof ConfigError) throw error
    throw new ConfigError(`${key}: cannot read the tables from ${driver.name}: ${(error as Error).message || (error as { code?: string }).code || String(error)}`, { cause: error })
  }
}

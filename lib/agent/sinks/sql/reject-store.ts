import type { SinkReject } from '../sink.ts'
import { underParameterLimit } from './chunk-planner.ts'
import type { RejectsConfig } from './sql-config.ts'
import { Params, type SqlDriver } from './sql-driver.ts'

/**
 * The reject table of scheduled sync runs (`hookferry_rejects`): a record the database keeps
 * refusing is kept here, with the error, instead of being lost or stopping the run. Columns:
 * run_id, source, table_name, record_key, payload (JSON), error, created_at.
 */
export interface RejectStore {
  /** Records the refused records of a run (one multi-row INSERT per few thousand). */
  record(rejects: readonly SinkReject[], signal?: AbortSignal): Promise<void>
}

const COLUMNS = ['run_id', 'source', 'table_name', 'record_key', 'payload', 'error', 'created_at'] as const

/** Creates the table when `create: true` (the only table hookferry ever creates), then writes to it. */
export function createRejectStore(driver: SqlDriver, config: RejectsConfig, target: string, createTableSql: (quotedTable: string) => string): RejectStore {
  const table = driver.quote(config.table)
  let ready: Promise<unknown> | undefined
  const ensureTable = () => {
    if (!config.create) return Promise.resolve()
    ready ??= driver.query(createTableSql(table), []).catch((error: unknown) => {
      ready = undefined
      throw error
    })
    return ready
  }
  return {
    async record(rejects) {
      if (rejects.length === 0) return
      await ensureTable()
      for (const slice of underParameterLimit(rejects, COLUMNS.length, driver.maxParameters)) {
        const params = new Params(driver.placeholder)
        const rows = slice.map(({ delivery, error, at }) =>
          params.list([delivery.runId ?? null, delivery.source, target, delivery.recordId, delivery.record === undefined ? null : JSON.stringify(delivery.record), `${error.code}: ${error.message}`, driver.dates === 'date' ? new Date(at) : at]),
        )
        await driver.query(`INSERT INTO ${table} (${COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`, params.values)
      }
    },
  }
}

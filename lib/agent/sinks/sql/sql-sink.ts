import { setTimeout as sleep } from 'node:timers/promises'
import { isAgentError, outageError, permanentError, retryableError, type AgentError } from '../../errors.ts'
import type { Delivery, DeliveryOutcome, Sink } from '../sink.ts'
import { groupByKey, type KeyGroup } from './chunk-planner.ts'
import { ColumnValueError } from './column-value.ts'
import { createRejectStore, type RejectStore } from './reject-store.ts'
import { createRowBuilder, type BuiltChange } from './row-builder.ts'
import { checkSchema } from './schema-check.ts'
import type { SqlDeliverConfig } from './sql-config.ts'
import { Params, type SqlConnection, type SqlDriver } from './sql-driver.ts'
import { databaseMessage } from './sql-errors.ts'
import { deleteParents, writeChanges, type ChangeResult } from './write-chunk.ts'

/** Keys deleted per transaction by deleteNotSeenInRun. */
const SWEEP_CHUNK = 1_000

/** A database sink: batch deliveries, plus what scheduled sync runs need. */
export interface SqlSink extends Sink {
  /**
   * With `runColumn` only. After a COMPLETE full-refresh run: deletes (per `delete`, children
   * included) the rows stamped by an earlier run, i.e. not seen by this one; resolves with how
   * many. Rows written in real time (runColumn NULL) are left alone.
   */
  deleteNotSeenInRun?(runId: string, signal?: AbortSignal): Promise<number>
  /** Runs one statement in the sink's database, placeholders in its own style (`$1` / `?`). */
  execute(statement: string, params: readonly unknown[], signal?: AbortSignal): Promise<void>
  /** The reject table, when `rejects:` is configured. */
  rejects?: RejectStore
}

type Attempt<T> = { value: T } | { dataError: unknown }

/**
 * The shared engine of the PostgreSQL and MySQL sinks. A batch is grouped by key (last wins),
 * sorted, converted (a bad value fails its record alone) and written in ONE transaction. Transient
 * errors retry the chunk with backoff, then fail the batch (retryable); a data error splits the
 * chunk in halves until the refused records stand alone: the others commit, each refused one is
 * a permanent failure with the database's message (dead-lettered, replayable).
 */
export async function createSqlSink(driver: SqlDriver, config: SqlDeliverConfig, key: string, rejectTableSql: (table: string) => string): Promise<SqlSink> {
  let shapes: Awaited<ReturnType<typeof checkSchema>>
  try {
    shapes = await checkSchema(driver, config, key)
  } catch (error) {
    await driver.close().catch(() => undefined)
    throw error
  }
  const build = createRowBuilder(config, shapes, driver.dates, key)
  const where = `${key} (${driver.name} ${config.table})`

  const withRetry = async <T>(work: (connection: SqlConnection) => Promise<T>, signal?: AbortSignal): Promise<Attempt<T>> => {
    for (let attempt = 1; ; attempt += 1) {
      if (signal?.aborted) throw signal.reason
      try {
        return { value: await driver.transaction(work) }
      } catch (error) {
        const kind = driver.classify(error)
        if (kind === 'data') return { dataError: error }
        if (kind === 'schema') throw retryableError('agent.database_schema', `${where}: the database refused the statement: ${databaseMessage(error)} (did the table change? retried until it is fixed)`, { cause: error })
        // The database, not the record, is the trouble: an outage (no attempt spent; the circuit breaker counts it).
        if (attempt >= config.retry.attempts) throw outageError('agent.database_unavailable', `${where}: ${databaseMessage(error)} (${attempt} attempts)`, { cause: error })
        // Exponential with jitter: two writers that deadlocked do not collide again in step.
        await sleep(config.retry.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2))
      }
    }
  }

  /** Writes the changes, splitting on data errors until each refused change stands alone. */
  const isolate = async (changes: BuiltChange[], results: Map<BuiltChange, ChangeResult | AgentError>, signal?: AbortSignal): Promise<void> => {
    if (changes.length === 0) return
    const attempt = await withRetry((connection) => writeChanges(connection, driver, config, changes), signal)
    if ('value' in attempt) {
      for (const [change, result] of attempt.value) results.set(change, result)
      return
    }
    if (changes.length === 1) {
      results.set(changes[0]!, permanentError('agent.database_rejected', `${where} refused ${changes[0]!.group.key}: ${databaseMessage(attempt.dataError)}`, { cause: attempt.dataError }))
      return
    }
    const middle = Math.ceil(changes.length / 2)
    await isolate(changes.slice(0, middle), results, signal)
    await isolate(changes.slice(middle), results, signal)
  }

  const buildAll = async (groups: KeyGroup[], results: Map<BuiltChange | KeyGroup, AgentError>) => {
    const changes: BuiltChange[] = []
    for (const group of groups) {
      try {
        changes.push(await build(group))
      } catch (error) {
        if (error instanceof ColumnValueError) results.set(group, permanentError('agent.database_value', `${where} ${group.key}: ${error.message}`, { cause: error }))
        else if (isAgentError(error) && !error.retryable) results.set(group, error)
        else throw error
      }
    }
    return changes
  }

  /** The full-refresh sweep: keys read first, then locked, checked again and deleted a chunk per transaction. */
  const deleteNotSeenInRun = async (runColumn: string, runId: string, signal?: AbortSignal): Promise<number> => {
    const notSeen = (params: Params) => `${driver.quote(runColumn)} IS NOT NULL AND ${driver.quote(runColumn)} <> ${params.add(runId)}${config.delete === 'soft' ? ` AND ${driver.quote(config.deletedAt!)} IS NULL` : ''}`
    const params = new Params(driver.placeholder)
    const keys = (await driver.query(`SELECT ${driver.quote(config.key)} AS k FROM ${driver.quote(config.table)} WHERE ${notSeen(params)} ORDER BY 1`, params.values)).map((row) => row.k)
    let deleted = 0
    for (let start = 0; start < keys.length; start += SWEEP_CHUNK) {
      const attempt = await withRetry(async (connection) => {
        // Locked and checked again: a real-time write since the SELECT keeps its row.
        const locked = new Params(driver.placeholder)
        const sql = `SELECT ${driver.quote(config.key)} AS k FROM ${driver.quote(config.table)} WHERE ${driver.quote(config.key)} IN ${locked.list(keys.slice(start, start + SWEEP_CHUNK))} AND ${notSeen(locked)} FOR UPDATE`
        const still = (await connection.query(sql, locked.values)).map((row) => row.k)
        await deleteParents(connection, driver, config, still)
        return still.length
      }, signal)
      if ('dataError' in attempt) throw retryableError('agent.database_rejected', `${where}: deleting rows not seen in run ${runId} failed: ${databaseMessage(attempt.dataError)}`, { cause: attempt.dataError })
      deleted += attempt.value
    }
    return deleted
  }

  return {
    // One transaction per connection: real-time deliveries are grouped only while every connection is busy.
    concurrentBatches: config.poolSize,
    async deliverBatch(deliveries: readonly Delivery[], signal?: AbortSignal): Promise<DeliveryOutcome[]> {
      const groups = groupByKey(deliveries)
      const failed = new Map<BuiltChange | KeyGroup, AgentError>()
      const changes = await buildAll(groups, failed)
      const results = new Map<BuiltChange, ChangeResult | AgentError>()
      await isolate(changes, results, signal)
      const outcomes: DeliveryOutcome[] = new Array(deliveries.length)
      const settle = (group: KeyGroup, result: ChangeResult | AgentError | undefined) => {
        const outcome: DeliveryOutcome = result === undefined ? { ok: false, error: retryableError('agent.internal', `${where}: no result for ${group.key}`) } : isAgentError(result) ? { ok: false, error: result } : { ok: true, ...result }
        for (const position of group.positions) outcomes[position] = outcome
      }
      for (const [group, error] of failed) settle(group as KeyGroup, error)
      for (const change of changes) settle(change.group, results.get(change))
      return outcomes
    },

    async execute(statement, params, signal) {
      const attempt = await withRetry((connection) => connection.query(statement, params), signal)
      if ('dataError' in attempt) throw permanentError('agent.database_rejected', `${where}: ${databaseMessage(attempt.dataError)}`, { cause: attempt.dataError })
    },

    ...(config.runColumn ? { deleteNotSeenInRun: (runId: string, signal?: AbortSignal) => deleteNotSeenInRun(config.runColumn!, runId, signal) } : {}),
    ...(config.rejects ? { rejects: createRejectStore(driver, config.rejects, config.table, rejectTableSql) } : {}),
    close: () => driver.close(),
  }
}

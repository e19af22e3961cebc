import * as z from 'zod/mini'
import '../../../config/zod.ts'
import { jsonataExpression, nonEmpty } from '../../config-parts.ts'

/**
 * `deliver: {type: postgres}` and `deliver: {type: mysql}` (MySQL 8, MariaDB 10.6+): upserts into
 * YOUR table, keyed by the source's record id. hookferry never creates or alters your tables (only
 * its own `hookferry_` bookkeeping tables, and only with `create: true`). Checked against the
 * database when the agent starts: a missing table, column or unique key is one line naming it.
 */

/** A column name (quoted by hookferry, so any case works). */
const column = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'expected a column name (letters, digits, "_", "$")'))
/** A table, optionally with its schema (PostgreSQL) or database (MySQL): `customers`, `erp.customers`. */
const table = z.string().check(z.regex(/^([A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'expected a table name, optionally schema-qualified (erp.customers)'))

/**
 * The columns to write: `'*'` takes the record's top-level fields as columns (a field that is not a
 * column of the table fails that record; an absent field leaves its column alone), or one JSONata
 * expression per column over the record (nothing, i.e. undefined, writes NULL).
 */
const columns = z._default(z.union([z.literal('*'), z.record(column, jsonataExpression)]), '*')

/** `hard`: DELETE the row. `soft`: set the `deletedAt` column to the current time (an upsert sets it back to NULL). */
const deleteMode = z._default(z.enum(['hard', 'soft']), 'hard')

const softNeedsColumn = (target: { delete: 'hard' | 'soft'; deletedAt?: string | undefined }) => target.delete === 'hard' || target.deletedAt !== undefined

const childSchema = z
  .strictObject({
    /** The child table, e.g. `addresses`. */
    table,
    /** JSONata over the (transformed) parent record giving the child rows, e.g. `addresses`. */
    rows: jsonataExpression,
    /** The column(s) of a child row's own key (a unique key of the table), e.g. `address_id`. */
    key: z.union([column, z.array(column).check(z.minLength(1))]),
    /** The column that holds the parent's key (its source id); filled in by hookferry. */
    parentKey: column,
    /** Over each child row, like the parent's `columns`. */
    columns,
    /** What happens to children that vanished from the parent's rows, and to the children of a deleted parent. */
    delete: deleteMode,
    deletedAt: z.optional(column),
  })
  .check(z.refine(softNeedsColumn, { message: 'delete: soft needs deletedAt (the column to set)', path: ['deletedAt'] }))

/** TLS to the database. The URL may also carry `sslmode` (PostgreSQL) or `ssl` options. */
const tlsSchema = z.strictObject({
  /** PEM text of the CA certificate(s) to trust, e.g. `${DB_CA_PEM}`. Default: the system's CAs. */
  ca: z.optional(nonEmpty),
  /** PEM client certificate and key, for servers that require them. */
  cert: z.optional(nonEmpty),
  key: z.optional(nonEmpty),
  /** Refuse a server whose certificate cannot be verified. Turn off only for testing. */
  rejectUnauthorized: z._default(z.boolean(), true),
  /** The name to verify the certificate against, when it differs from the URL's host. */
  servername: z.optional(nonEmpty),
})

/** The reject table of scheduled sync runs: records that keep failing land here instead of stopping the run. */
const rejectsSchema = z.strictObject({
  table: z._default(
    table.check(z.refine((name) => /(^|\.)hookferry_/.test(name), 'the reject table must be named hookferry_… (it is hookferry\'s own)')),
    'hookferry_rejects',
  ),
  /** Create the table if it is missing (it is hookferry's own: the only table it ever creates). */
  create: z._default(z.boolean(), false),
})

function sqlDeliverShape<T extends 'postgres' | 'mysql'>(type: T) {
  return {
    type: z.literal(type),
    /** Connection URL, from the environment: `${DATABASE_URL}` (postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db). */
    url: nonEmpty,
    /** Connections kept open. */
    poolSize: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 4),
    /** A statement running longer is cancelled and retried (PostgreSQL statement_timeout, MariaDB max_statement_time, MySQL max_execution_time and lock wait timeout). */
    statementTimeoutMs: z._default(z.number().check(z.int(), z.gte(100), z.lte(3_600_000)), 30_000),
    tls: z.optional(tlsSchema),
    /** The target table: yours, never created or altered. */
    table,
    /** The column holding the SOURCE system's record id (e.g. `stripe_id`); it needs a unique key of its own. */
    key: column,
    columns,
    /** The column of the LOCAL primary key (e.g. `id`), read back after the upsert and handed to write-back as `localKey`. */
    localKey: z.optional(column),
    /**
     * A row is only overwritten by an equal or newer version: an older one is a no-op, reported
     * `stale`. Its value is the mapped column if `columns` maps it, else the delivery's version
     * (`fetch.version`). Compared by the column's type: use a number or timestamp column.
     */
    versionColumn: z.optional(column),
    delete: deleteMode,
    deletedAt: z.optional(column),
    /**
     * Rows written by a scheduled sync run carry its run id here (real-time writes set NULL). After
     * a complete full-refresh run, rows stamped by an EARLIER run were not seen and are deleted
     * (per `delete`); rows written in real time since are left alone until a run stamps them.
     */
    runColumn: z.optional(column),
    /** Master-detail: each parent's children are written in its transaction and replaced as a set. */
    children: z._default(z.array(childSchema), []),
    rejects: z.optional(rejectsSchema),
    /** Transient failures (connection lost, deadlock, serialization, lock timeout) retry the chunk this often, with backoff. */
    retry: z._default(
      z.strictObject({
        attempts: z._default(z.number().check(z.int(), z.gte(1), z.lte(20)), 5),
        baseDelayMs: z._default(z.number().check(z.int(), z.gte(1), z.lte(60_000)), 100),
      }),
      { attempts: 5, baseDelayMs: 100 },
    ),
  }
}

type SqlTarget = { key: string; columns: '*' | Record<string, string>; delete: 'hard' | 'soft'; deletedAt?: string | undefined }
const softDeleteCheck = z.refine<SqlTarget>((target) => softNeedsColumn(target), { message: 'delete: soft needs deletedAt (the column to set)', path: ['deletedAt'] })
const keyNotMappedCheck = z.refine<SqlTarget>((target) => target.columns === '*' || !(target.key in target.columns), {
  message: 'the key column always holds the record id: do not map it in columns',
  path: ['columns'],
})

/** Deliver into a PostgreSQL table (`INSERT … ON CONFLICT (key) DO UPDATE`). */
export const postgresDeliverSchema = z.strictObject(sqlDeliverShape('postgres')).check(softDeleteCheck, keyNotMappedCheck)
/** Deliver into a MySQL 8 or MariaDB 10.6+ table (`INSERT … ON DUPLICATE KEY UPDATE`). */
export const mysqlDeliverSchema = z.strictObject(sqlDeliverShape('mysql')).check(softDeleteCheck, keyNotMappedCheck)

export type SqlDeliverConfig = z.infer<typeof postgresDeliverSchema> | z.infer<typeof mysqlDeliverSchema>
export type SqlChildConfig = z.infer<typeof childSchema>
export type SqlTlsConfig = z.infer<typeof tlsSchema>
export type RejectsConfig = z.infer<typeof rejectsSchema>

/** The TLS settings as both drivers take them (node:tls options: pg's `ssl`, mysql2's `ssl`). */
export function tlsOptionsOf(tls: SqlTlsConfig): { rejectUnauthorized: boolean; ca?: string; cert?: string; key?: string; servername?: string } {
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  }
}

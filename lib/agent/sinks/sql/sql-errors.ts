/**
 * What a database error means for the chunk that met it:
 * - `transient`: the connection or the server's concurrency control (lost connection, deadlock,
 *   serialization failure, lock or statement timeout, shutdown): retry the whole chunk;
 * - `data`: a record the table refuses (constraint, bad value): split the chunk to find it;
 * - `schema`: the table or the grants changed under us: no record can succeed until someone fixes it.
 */
export type ErrorKind = 'transient' | 'data' | 'schema'

interface DriverError {
  code?: unknown
  errno?: unknown
  sqlState?: unknown
  message?: unknown
  fatal?: unknown
  severity?: unknown
}

/** SQLSTATEs (PostgreSQL) that are worth retrying as they are. */
const PG_TRANSIENT = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '53300', '53400'])
/** SQLSTATE classes of connection trouble, resources and operator intervention. */
const PG_TRANSIENT_CLASSES = new Set(['08', '53', '57', '58'])

/** MySQL/MariaDB error numbers worth retrying: lock wait timeout, deadlock, server gone, killed, too many connections, statement time limits. */
const MYSQL_TRANSIENT = new Set([1205, 1213, 1040, 1053, 1077, 1152, 1158, 1159, 1160, 1161, 1317, 1927, 1969, 2002, 2003, 2006, 2013, 2055, 3024, 4031])

/** Classifies a pg error: the server's have a `severity` and a SQLSTATE `code`; socket errors (errno names, or no code) are transient. */
export function classifyPostgresError(error: unknown): ErrorKind {
  const { code, severity } = (error ?? {}) as DriverError
  if (typeof severity !== 'string' || typeof code !== 'string') return 'transient'
  if (PG_TRANSIENT.has(code) || PG_TRANSIENT_CLASSES.has(code.slice(0, 2))) return 'transient'
  if (code.startsWith('22') || code.startsWith('23')) return 'data'
  return 'schema'
}

/** Classifies a mysql2 error (`errno` and `sqlState` from the server; `fatal` for a broken connection). */
export function classifyMysqlError(error: unknown): ErrorKind {
  const { errno, sqlState, fatal } = (error ?? {}) as DriverError
  if (fatal === true || typeof errno !== 'number') return 'transient'
  if (MYSQL_TRANSIENT.has(errno)) return 'transient'
  const state = typeof sqlState === 'string' ? sqlState : ''
  if (state.startsWith('08') || state.startsWith('40')) return 'transient'
  // 1062 duplicate (a second unique key), 1048 NULL, 1264/1690 out of range, 1265/1292/1366 bad values,
  // 1406 too long, 1451/1452 foreign keys, 3140 invalid JSON, 3819/4025 CHECK constraints.
  if (state.startsWith('22') || state.startsWith('23') || [1048, 1062, 1264, 1265, 1292, 1364, 1366, 1406, 1451, 1452, 1690, 3140, 3819, 4025].includes(errno)) return 'data'
  return 'schema'
}

/** `[23514] new row for relation "customers" violates check constraint "…"`: the code and the database's own words. */
export function databaseMessage(error: unknown): string {
  const { code, errno, message } = (error ?? {}) as DriverError
  const text = typeof message === 'string' && message !== '' ? message : String(error)
  const tag = typeof errno === 'number' ? errno : typeof code === 'string' ? code : undefined
  return tag === undefined ? text : `[${tag}] ${text}`
}

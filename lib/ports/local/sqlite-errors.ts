import { StorageUnavailableError } from '../../errors.ts'

/**
 * SQLite result codes that mean "the database cannot take this now": busy/locked past
 * busy_timeout, I/O errors, disk full, cannot open, read-only. https://www.sqlite.org/rescode.html
 */
const UNAVAILABLE_RESULT_CODES = new Set([5, 6, 8, 10, 13, 14])

interface SqliteErrorShape {
  code?: string
  errcode?: number
}

/** True when node:sqlite failed because the database is busy, closed or its disk failed. */
export function isSqliteUnavailableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { code, errcode } = error as SqliteErrorShape
  // ERR_INVALID_STATE: the database was closed (e.g. during shutdown).
  if (code === 'ERR_INVALID_STATE') return true
  // errcode may be an extended code (SQLITE_IOERR_WRITE = 778): the primary code is its low byte.
  return code === 'ERR_SQLITE_ERROR' && errcode !== undefined && UNAVAILABLE_RESULT_CODES.has(errcode & 0xff)
}

/** Runs a database call, turning unavailability into StorageUnavailableError (other errors unchanged). */
export function withSqlite<T>(action: string, call: () => T): T {
  try {
    return call()
  } catch (error) {
    if (isSqliteUnavailableError(error)) {
      throw new StorageUnavailableError(`${action} failed: the database is unavailable`, { cause: error })
    }
    throw error
  }
}

import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { SqliteLedger } from '../../lib/ports/local/sqlite-ledger.ts'
import { openTempSqlite } from '../support/emulators.ts'
import { makeRecord, makeRequest } from './ledger-fixtures.ts'

/**
 * In one process the SQLite ledger never races: mutateRecord runs synchronously. Two writers
 * with their own connections to one file (threads here, processes in production) do race, and
 * BEGIN IMMEDIATE with the busy timeout must still land every update exactly once.
 */
const WRITES = 40

describe('the SQLite ledger written by two connections at once', () => {
  it('lands every concurrent update of one record exactly once', async () => {
    const sqlite = openTempSqlite()
    try {
      const ledger = new SqliteLedger({ db: sqlite.db })
      const key = makeRecord().recordKey
      await ledger.mutateRecord(key, [], () => ({ record: makeRecord(), requests: [makeRequest({ id: 'r1', events: [], eventCount: 0 })], result: undefined }))
      const barrier = new SharedArrayBuffer(4)
      const writers = ['a', 'b'].map((writer) => new Worker(new URL('./sqlite-writer.worker.ts', import.meta.url), { workerData: { file: sqlite.file, recordKey: key, writer, count: WRITES, barrier } }))
      const [a, b] = (await Promise.all(writers.map(async (worker) => (await once(worker, 'message'))[0]))) as { startedAt: number; endedAt: number }[]
      const request = await ledger.getRequest('r1')
      expect(request?.eventCount).toBe(2 * WRITES)
      expect(request?.rev).toBe(2 * WRITES + 1)
      const ids = request?.events.map((event) => event.deliveryId) ?? []
      expect(new Set(ids).size).toBe(2 * WRITES)
      // Both really wrote at the same time (the one waiting for the lock included).
      expect(a!.startedAt < b!.endedAt && b!.startedAt < a!.endedAt).toBe(true)
    } finally {
      sqlite.cleanup()
    }
  })
})

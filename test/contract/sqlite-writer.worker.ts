import { parentPort, workerData } from 'node:worker_threads'
import { openDatabase } from '../../lib/ports/local/open-database.ts'
import { SqliteLedger } from '../../lib/ports/local/sqlite-ledger.ts'

/**
 * One writer of sqlite-concurrency.contract.test.ts, in its own thread with its own connection
 * (as another process would be): appends `count` events to the request of `recordKey`.
 */
const { file, recordKey, writer, count, barrier } = workerData as { file: string; recordKey: string; writer: string; count: number; barrier: SharedArrayBuffer }
const db = openDatabase(file)
const ledger = new SqliteLedger({ db })
// Start together: both connections are open before either writes.
const started = new Int32Array(barrier)
Atomics.add(started, 0, 1)
Atomics.notify(started, 0)
for (let seen = Atomics.load(started, 0); seen < 2; seen = Atomics.load(started, 0)) Atomics.wait(started, 0, seen, 1_000)
const startedAt = performance.now() + performance.timeOrigin
for (let index = 0; index < count; index++) {
  await ledger.mutateRecord(recordKey, [], ({ record, requests }) => {
    const request = requests.get(record!.requestId!)!
    const event = { deliveryId: `${writer}-${index}`, receivedAt: new Date().toISOString() }
    return { requests: [{ ...request, eventCount: request.eventCount + 1, events: [...request.events, event].slice(-1000) }], result: undefined }
  })
}
db.close()
parentPort!.postMessage({ startedAt, endedAt: performance.now() + performance.timeOrigin })

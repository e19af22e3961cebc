import { EventEmitter } from 'node:events'
import type { DatabaseSync } from 'node:sqlite'

/**
 * Wakes long polls of the embedded queue the moment a message is sent or released, so pickup is
 * immediate instead of waiting for a poll interval. One emitter per database file (event name =
 * queue name), shared by every SqliteWorkQueue of this process on that file.
 */
const emittersByFile = new Map<string, EventEmitter>()
const emittersOfMemoryDatabases = new WeakMap<DatabaseSync, EventEmitter>()

function emitterFor(db: DatabaseSync): EventEmitter {
  const file = db.location()
  if (file === null) {
    let emitter = emittersOfMemoryDatabases.get(db)
    if (emitter === undefined) emittersOfMemoryDatabases.set(db, (emitter = newEmitter()))
    return emitter
  }
  let emitter = emittersByFile.get(file)
  if (emitter === undefined) emittersByFile.set(file, (emitter = newEmitter()))
  return emitter
}

function newEmitter(): EventEmitter {
  const emitter = new EventEmitter()
  // Every waiting long poll is a listener; many concurrent polls are normal, not a leak.
  emitter.setMaxListeners(0)
  return emitter
}

/** Tells waiting long polls of `queueName` that a message may be visible now. */
export function notifyQueue(db: DatabaseSync, queueName: string): void {
  emitterFor(db).emit(queueName)
}

/**
 * Resolves on the next notification for `queueName`, after `timeoutMs`, or when `signal` aborts.
 * The listener is registered synchronously, so a send right after the caller's last look is not missed.
 */
export function waitForQueue(db: DatabaseSync, queueName: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const emitter = emitterFor(db)
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      emitter.off(queueName, done)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    emitter.on(queueName, done)
    signal?.addEventListener('abort', done, { once: true })
  })
}

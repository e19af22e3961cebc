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

export interface QueueListener {
  /** Resolves at once if a notification came since listenForQueue, else on the next one, after `timeoutMs`, or when `signal` aborts. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>
  stop(): void
}

/**
 * Listens for notifications of `queueName` from now on. Take it BEFORE looking at the queue: the
 * look awaits (it may join a commit group), and a send committed during that await is then not missed.
 */
export function listenForQueue(db: DatabaseSync, queueName: string): QueueListener {
  const emitter = emitterFor(db)
  let notified = false
  let wake: (() => void) | undefined
  const onNotify = (): void => {
    notified = true
    wake?.()
  }
  emitter.on(queueName, onNotify)
  return {
    wait: (timeoutMs, signal) =>
      new Promise((resolve) => {
        if (notified || signal?.aborted) return resolve()
        const done = (): void => {
          clearTimeout(timer)
          wake = undefined
          signal?.removeEventListener('abort', done)
          resolve()
        }
        const timer = setTimeout(done, timeoutMs)
        wake = done
        signal?.addEventListener('abort', done, { once: true })
      }),
    stop: () => void emitter.off(queueName, onNotify),
  }
}

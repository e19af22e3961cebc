import { mkdir, open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { retryableError } from '../errors.ts'
import type { Delivery, Sink, SinkResult } from './sink.ts'

interface PendingLine {
  line: string
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Appends one JSON line per delivery to a file and fsyncs it before the delivery resolves (so an
 * ack never precedes the data reaching the disk). Concurrent deliveries are written by one
 * writer in batches: whole lines, never interleaved, one fsync per batch (group commit).
 */
export function createFileSink(config: { path: string }, deps: { now?: () => number } = {}): Sink {
  const now = deps.now ?? Date.now
  let handle: Promise<FileHandle> | undefined
  let queue: PendingLine[] = []
  let writing: Promise<void> | undefined

  const openFile = async () => {
    await mkdir(dirname(config.path), { recursive: true })
    return open(config.path, 'a')
  }

  const writeBatches = async () => {
    while (queue.length > 0) {
      const batch = queue
      queue = []
      try {
        handle ??= openFile()
        const file = await handle
        await file.appendFile(batch.map((item) => item.line).join(''))
        await file.sync()
        for (const item of batch) item.resolve()
      } catch (error) {
        handle = undefined // reopen next time (the disk may come back)
        const failure = retryableError('agent.deliver_failed', `deliver to file ${config.path} failed: ${(error as Error).message}`, { cause: error })
        for (const item of batch) item.reject(failure)
      }
    }
    writing = undefined
  }

  return {
    deliver(delivery: Delivery): Promise<SinkResult> {
      const line = `${JSON.stringify({ ...delivery, deliveredAt: new Date(now()).toISOString() })}\n`
      return new Promise<SinkResult>((resolve, reject) => {
        queue.push({ line, resolve: () => resolve({}), reject })
        writing ??= writeBatches()
      })
    },
    async close() {
      await writing
      const file = handle
      handle = undefined
      if (file) await (await file).close()
    },
  }
}

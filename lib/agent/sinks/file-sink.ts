import { mkdir, open, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { retryableError } from '../errors.ts'
import type { DeliveryOutcome, Sink } from './sink.ts'

/**
 * Appends one JSON line per delivery to a file and fsyncs it before the batch resolves (so an ack
 * never precedes the data reaching the disk): whole lines, one append and one fsync per batch.
 * Concurrent real-time deliveries reach it grouped (group-commit.ts), sync runs in chunks.
 */
export function createFileSink(config: { path: string }, deps: { now?: () => number } = {}): Sink {
  const now = deps.now ?? Date.now
  let handle: Promise<FileHandle> | undefined
  // One batch at a time, so lines of two batches never interleave.
  let tail: Promise<unknown> = Promise.resolve()

  const openFile = async () => {
    await mkdir(dirname(config.path), { recursive: true })
    return open(config.path, 'a')
  }

  const append = async (text: string, count: number): Promise<DeliveryOutcome[]> => {
    try {
      handle ??= openFile()
      const file = await handle
      await file.appendFile(text)
      await file.sync()
      return Array.from({ length: count }, () => ({ ok: true }))
    } catch (error) {
      handle = undefined // reopen next time (the disk may come back)
      throw retryableError('agent.deliver_failed', `deliver to file ${config.path} failed: ${(error as Error).message}`, { cause: error })
    }
  }

  return {
    deliverBatch(deliveries) {
      const deliveredAt = new Date(now()).toISOString()
      const text = deliveries.map((delivery) => `${JSON.stringify({ ...delivery, deliveredAt })}\n`).join('')
      const written = tail.then(() => append(text, deliveries.length))
      tail = written.catch(() => undefined)
      return written
    },
    async close() {
      await tail
      const file = handle
      handle = undefined
      if (file) await (await file).close()
    },
  }
}

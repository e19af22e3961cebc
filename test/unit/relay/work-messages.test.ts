import { describe, expect, it } from 'vitest'
import { HookferryError, StorageUnavailableError } from '../../../lib/errors.ts'
import type { Ledger } from '../../../lib/ports/ledger.ts'
import type { SendEntry, WorkQueue } from '../../../lib/ports/queue.ts'
import type { Log, RelayDeps } from '../../../lib/relay/deps.ts'
import { noMetrics } from '../../../lib/relay/deps.ts'
import { decodeWorkMessage } from '../../../lib/relay/queue-message.ts'
import { enqueueWork, guardStorage, markWorkSent, sendWorkMessages } from '../../../lib/relay/work-messages.ts'

/**
 * Sending wake-ups and guarding storage calls: one queue call per batch (none for an empty one,
 * which SQS would refuse), sent marks that never fail the caller, and storage failures as 503.
 */

function recordingDeps(options: { send?: (entries: SendEntry[]) => Promise<void>; markSent?: (id: string, at: string) => Promise<void> } = {}) {
  const sends: SendEntry[][] = []
  const marks: [string, string][] = []
  const warnings: { message: string; fields?: Record<string, unknown> }[] = []
  const queue = {
    send: async (entries: SendEntry[]) => {
      sends.push(entries)
      await options.send?.(entries)
    },
  } as unknown as WorkQueue
  const ledger = {
    markSent: async (id: string, at: string) => {
      marks.push([id, at])
      await options.markSent?.(id, at)
    },
  } as unknown as Ledger
  const log: Log = { debug() {}, info() {}, warn: (message, fields) => void warnings.push({ message, ...(fields ? { fields } : {}) }), error() {} }
  const now = new Date('2031-03-01T12:00:00.000Z')
  const deps = { config: undefined as never, ledger, queue, log, metrics: noMetrics, now: () => now, newId: () => 'id', random: Math.random } satisfies RelayDeps
  return { deps, sends, marks, warnings, now }
}

describe('sendWorkMessages', () => {
  it('sends one message per request in one queue call, then marks each sent at now', async () => {
    const { deps, sends, marks, now } = recordingDeps()
    await sendWorkMessages(deps, [
      { requestId: 'r1', recordKey: 'crm##1' },
      { requestId: 'r2', recordKey: 'crm##2' },
    ])
    expect(sends).toHaveLength(1)
    expect(sends[0]!.map((entry) => decodeWorkMessage(entry.body))).toEqual([
      { requestId: 'r1', recordKey: 'crm##1' },
      { requestId: 'r2', recordKey: 'crm##2' },
    ])
    expect(marks).toEqual([
      ['r1', now.toISOString()],
      ['r2', now.toISOString()],
    ])
  })

  it('makes no queue call and no mark for nothing to send', async () => {
    const { deps, sends, marks } = recordingDeps()
    await sendWorkMessages(deps, [])
    await enqueueWork(deps, [])
    expect(sends).toEqual([])
    expect(marks).toEqual([])
  })

  it('marks nothing when the enqueue failed, and answers 503', async () => {
    const { deps, marks } = recordingDeps({ send: () => Promise.reject(new Error('queue down')) })
    await expect(sendWorkMessages(deps, [{ requestId: 'r1', recordKey: 'crm##1' }])).rejects.toBeInstanceOf(StorageUnavailableError)
    expect(marks).toEqual([])
  })

  it('a failed sent mark is only a warning, and the other marks are still written', async () => {
    const { deps, marks, warnings } = recordingDeps({ markSent: (id) => (id === 'r1' ? Promise.reject(new Error('throttled')) : Promise.resolve()) })
    await markWorkSent(deps, [
      { requestId: 'r1', recordKey: 'crm##1' },
      { requestId: 'r2', recordKey: 'crm##2' },
    ])
    expect(marks.map(([id]) => id)).toEqual(['r1', 'r2'])
    expect(warnings).toEqual([{ message: 'could not mark request as sent', fields: { requestId: 'r1', error: 'Error: throttled' } }])
  })
})

describe('guardStorage', () => {
  it('passes the result through', async () => {
    await expect(guardStorage(async () => 42)).resolves.toBe(42)
  })

  it('turns a plain failure into a 503 that keeps the cause', async () => {
    const cause = new Error('disk full')
    const error = await guardStorage(() => Promise.reject(cause)).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(StorageUnavailableError)
    expect(error).toMatchObject({ statusCode: 503, code: 'storage.unavailable', message: 'could not durably record the webhook; retry later', cause })
  })

  it('passes a client error or a 503 through, but turns an internal (500) one into a 503', async () => {
    const conflict = new HookferryError('request.conflict', 'no', { statusCode: 409 })
    await expect(guardStorage(() => Promise.reject(conflict))).rejects.toBe(conflict)
    const unavailable = new StorageUnavailableError('down')
    await expect(guardStorage(() => Promise.reject(unavailable))).rejects.toBe(unavailable)
    const internal = new HookferryError('internal', 'bug', { statusCode: 500 })
    const error = await guardStorage(() => Promise.reject(internal)).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(StorageUnavailableError)
    expect((error as Error).cause).toBe(internal)
  })
})

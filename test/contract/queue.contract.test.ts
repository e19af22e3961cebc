import { describe, expect, test } from 'vitest'
import { StorageUnavailableError } from '../../lib/errors.ts'
import type { QueueMessage, ReceiveOptions, WorkQueue } from '../../lib/ports/queue.ts'
import { type QueueHarness, queueFamilies } from './queue-families.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const LEASE = { maxMessages: 10, visibilitySeconds: 30 } as const
const now = (queue: WorkQueue, options: Partial<ReceiveOptions> = {}) => queue.receive({ ...LEASE, waitSeconds: 0, ...options })
const within = (queue: WorkQueue, waitSeconds: number, options: Partial<ReceiveOptions> = {}) =>
  queue.receive({ ...LEASE, waitSeconds, ...options })

async function receiveOne(queue: WorkQueue, options: Partial<ReceiveOptions> = {}): Promise<QueueMessage> {
  const messages = await within(queue, 5, { maxMessages: 1, ...options })
  expect(messages).toHaveLength(1)
  return messages[0]!
}

// Concurrent: every test has its own emulator or database file, and most of the time is waiting.
describe.concurrent.each(queueFamilies)('work queue contract: $name', (family) => {
  const it = test.extend<{ harness: QueueHarness; queue: WorkQueue }>({
    // eslint-disable-next-line no-empty-pattern
    harness: async ({}, use) => {
      const harness = await family.create()
      await use(harness)
      await harness.close()
    },
    queue: async ({ harness }, use) => use(harness.queue),
  })

  it('delivers a sent message with a receipt, an id and receiveCount 1, and not again once deleted', async ({ queue }) => {
    await queue.send([{ body: 'hello' }])
    const message = await receiveOne(queue, { visibilitySeconds: 0 })
    expect(message).toMatchObject({ body: 'hello', receiveCount: 1 })
    expect(message.receipt).not.toBe('')
    expect(message.messageId).not.toBe('')
    await queue.delete(message.receipt)
    // Visibility 0 would have made it receivable again at once, had it not been deleted.
    expect(await now(queue)).toEqual([])
  })

  it('hides a received message for its lease, then redelivers it with receiveCount 2 and a new receipt', async ({ queue }) => {
    await queue.send([{ body: 'lease me' }])
    const first = await receiveOne(queue, { visibilitySeconds: 1 })
    expect(await now(queue)).toEqual([])
    const second = await receiveOne(queue)
    expect(second).toMatchObject({ body: 'lease me', receiveCount: 2, messageId: first.messageId })
    expect(second.receipt).not.toBe(first.receipt)
  })

  it('accepts a stale receipt for delete and changeVisibility without an error', async ({ queue }) => {
    await queue.send([{ body: 'stale' }])
    const first = await receiveOne(queue, { visibilitySeconds: 0 })
    const second = await receiveOne(queue)
    await expect(queue.changeVisibility(first.receipt, 0)).resolves.toBeUndefined()
    await expect(queue.delete(first.receipt)).resolves.toBeUndefined()
    await queue.delete(second.receipt)
    await expect(queue.delete(second.receipt)).resolves.toBeUndefined()
    expect(await now(queue)).toEqual([])
  })

  it('extends a lease with changeVisibility', async ({ queue }) => {
    await queue.send([{ body: 'slow work' }])
    const message = await receiveOne(queue, { visibilitySeconds: 1 })
    await queue.changeVisibility(message.receipt, 30)
    await sleep(1_500)
    expect(await now(queue)).toEqual([])
  })

  it('releases a message at once with changeVisibility 0', async ({ queue }) => {
    await queue.send([{ body: 'give back' }])
    const message = await receiveOne(queue)
    await queue.changeVisibility(message.receipt, 0)
    expect(await now(queue)).toMatchObject([{ body: 'give back', receiveCount: 2 }])
  })

  it('holds a delayed message back for its delay', async ({ queue }) => {
    await queue.send([{ body: 'later', delaySeconds: 1 }, { body: 'now' }])
    expect((await now(queue)).map((message) => message.body)).toEqual(['now'])
    expect(await receiveOne(queue)).toMatchObject({ body: 'later' })
  })

  it('ends a long poll as soon as a message is sent during the wait', async ({ queue }) => {
    const started = Date.now()
    const polling = within(queue, 10)
    await sleep(200)
    await queue.send([{ body: 'wake up' }])
    expect((await polling).map((message) => message.body)).toEqual(['wake up'])
    // A behaviour, not a benchmark: far less than the 10 s the poll may wait.
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('sends more than 10 entries in batches and receives at most 10 per call', async ({ queue }) => {
    const bodies = Array.from({ length: 12 }, (_, index) => `m${index}`)
    await queue.send(bodies.map((body) => ({ body })))
    const received: string[] = []
    while (received.length < bodies.length) {
      const messages = await within(queue, 2)
      expect(messages.length).toBeGreaterThan(0)
      expect(messages.length).toBeLessThanOrEqual(10)
      received.push(...messages.map((message) => message.body))
    }
    expect(received.sort()).toEqual([...bodies].sort())
  })

  it('moves a message to the dead-letter queue instead of receiving it more than maxReceiveCount times', async ({ harness, queue }) => {
    await queue.send([{ body: 'poison' }])
    for (let count = 1; count <= harness.maxReceiveCount; count += 1) {
      const message = await receiveOne(queue)
      expect(message.receiveCount).toBe(count)
      await queue.changeVisibility(message.receipt, 0)
    }
    expect(await now(queue)).toEqual([])
    expect(await receiveOne(harness.deadLetters)).toMatchObject({ body: 'poison' })
  })

  it('ends a long poll with nothing when its signal aborts', async ({ queue }) => {
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(), 100)
    expect(await within(queue, 20, { signal: controller.signal })).toEqual([])
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(await within(queue, 20, { signal: AbortSignal.abort() })).toEqual([])
  })

  it('throws StorageUnavailableError when its store cannot be reached', async ({ harness }) => {
    const unreachable = harness.unreachable()
    await expect(unreachable.send([{ body: 'lost?' }])).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(now(unreachable)).rejects.toBeInstanceOf(StorageUnavailableError)
  })

  it('keeps sent and leased messages across a restart of its store', async ({ harness, queue, skip }) => {
    if (harness.reopen === undefined) skip('SQS durability belongs to the service; an in-memory emulator cannot show it')
    await queue.send([{ body: 'durable' }, { body: 'in flight' }])
    const leased = (await within(queue, 5, { maxMessages: 10, visibilitySeconds: 1 })).find((message) => message.body === 'in flight')
    await queue.send([{ body: 'after lease' }])
    const reopened = harness.reopen!()
    expect(leased).toBeDefined()
    const bodies = new Set<string>()
    while (bodies.size < 3) for (const message of await within(reopened, 5)) bodies.add(message.body)
    expect([...bodies].sort()).toEqual(['after lease', 'durable', 'in flight'])
  })
})

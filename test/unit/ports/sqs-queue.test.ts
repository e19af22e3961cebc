import { SQSClient } from '@aws-sdk/client-sqs'
import { afterEach, describe, expect, it } from 'vitest'
import { SqsWorkQueue } from '../../../lib/ports/aws/sqs-queue.ts'
import { StorageUnavailableError } from '../../../lib/errors.ts'
import { FAKE_AWS, startSqs, type SqsEmulator } from '../../support/emulators.ts'

/** The queue on an in-process fauxqs, with the names of the SQS commands it sends. */
async function queueOnFauxqs(): Promise<{ sqs: SqsEmulator; queue: SqsWorkQueue; sent: string[] }> {
  const sqs = await startSqs()
  const sent: string[] = []
  const send = sqs.client.send.bind(sqs.client) as (command: unknown) => Promise<unknown>
  const client = Object.assign(Object.create(sqs.client) as SQSClient, {
    send: (command: { constructor: { name: string } }) => {
      sent.push(command.constructor.name)
      return send(command)
    },
  })
  return { sqs, queue: new SqsWorkQueue({ queueUrl: sqs.queueUrl, client }), sent }
}

describe('SqsWorkQueue deletes', () => {
  let sqs: SqsEmulator | undefined
  afterEach(async () => {
    await sqs?.stop()
    sqs = undefined
  })

  it('sends deletes asked for together as DeleteMessageBatch calls of at most 10, and each message is gone', async () => {
    const setup = await queueOnFauxqs()
    sqs = setup.sqs
    await setup.queue.send(Array.from({ length: 12 }, (_, index) => ({ body: `m${index}` })))
    const received = [
      ...(await setup.queue.receive({ maxMessages: 10, waitSeconds: 1, visibilitySeconds: 2 })),
      ...(await setup.queue.receive({ maxMessages: 10, waitSeconds: 1, visibilitySeconds: 2 })),
    ]
    expect(new Set(received.map((message) => message.body)).size).toBe(12)
    setup.sent.length = 0
    await Promise.all(received.map((message) => setup.queue.delete(message.receipt)))
    expect(setup.sent).toEqual(['DeleteMessageBatchCommand', 'DeleteMessageBatchCommand'])
    // Anything not deleted is receivable again once its 2 s visibility ends.
    expect(await setup.queue.receive({ maxMessages: 10, waitSeconds: 3, visibilitySeconds: 0 })).toEqual([])
  })

  it('deletes a lone message with one DeleteMessage, a stale receipt among a batch without an error', async () => {
    const setup = await queueOnFauxqs()
    sqs = setup.sqs
    await setup.queue.send([{ body: 'a' }, { body: 'b' }])
    const [first, second] = await setup.queue.receive({ maxMessages: 2, waitSeconds: 1, visibilitySeconds: 30 })
    setup.sent.length = 0
    await setup.queue.delete(first!.receipt)
    expect(setup.sent).toEqual(['DeleteMessageCommand'])
    await expect(Promise.all([setup.queue.delete(first!.receipt), setup.queue.delete(second!.receipt)])).resolves.toEqual([undefined, undefined])
    expect(setup.sent).toEqual(['DeleteMessageCommand', 'DeleteMessageBatchCommand'])
  })

  it('rejects every delete of a batch SQS could not take with StorageUnavailableError', async () => {
    const client = new SQSClient({ ...FAKE_AWS, endpoint: 'http://127.0.0.1:1', maxAttempts: 1 })
    const queue = new SqsWorkQueue({ queueUrl: 'http://127.0.0.1:1/000000000000/work', client })
    const deletes = ['r1', 'r2', 'r3'].map((receipt) => queue.delete(receipt))
    for (const result of await Promise.allSettled(deletes)) {
      expect(result.status).toBe('rejected')
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StorageUnavailableError)
    }
    client.destroy()
  })
})

import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs'
import { StorageUnavailableError } from '../../errors.ts'
import type { QueueMessage, ReceiveOptions, SendEntry, WorkQueue } from '../queue.ts'
import { awsErrorName, translateAwsError } from './aws-errors.ts'

/** SendMessageBatch takes at most 10 entries: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html */
const MAX_BATCH_ENTRIES = 10

/**
 * Errors that only mean the receipt is stale (the message was deleted, re-received, or its lease
 * ended): the port treats delete/changeVisibility with a stale receipt as a no-op.
 */
function isStaleReceiptError(error: unknown): boolean {
  const name = awsErrorName(error) ?? ''
  if (name === 'ReceiptHandleIsInvalid' || name === 'MessageNotInflight') return true
  // An expired receipt answers InvalidParameterValue ("The receipt handle has expired").
  return name.startsWith('InvalidParameterValue') && /receipt ?handle/i.test((error as Error).message)
}

let defaultClient: SQSClient | undefined
// The regional endpoint, not the queue URL's host: equal on AWS, and it lets the standard
// AWS_ENDPOINT_URL_SQS variable point the default client at an emulator.
const moduleClient = (): SQSClient => (defaultClient ??= new SQSClient({ useQueueUrlAsEndpoint: false }))

/** The work queue on an SQS standard queue (its redrive policy and DLQ are configured on the queue itself). */
export class SqsWorkQueue implements WorkQueue {
  readonly #queueUrl: string
  readonly #client: SQSClient

  constructor({ queueUrl, client = moduleClient() }: { queueUrl: string; client?: SQSClient }) {
    this.#queueUrl = queueUrl
    this.#client = client
  }

  async send(entries: SendEntry[]): Promise<void> {
    const chunks: SendEntry[][] = []
    for (let start = 0; start < entries.length; start += MAX_BATCH_ENTRIES) {
      chunks.push(entries.slice(start, start + MAX_BATCH_ENTRIES))
    }
    await Promise.all(chunks.map((chunk) => this.#sendBatch(chunk)))
  }

  async #sendBatch(chunk: SendEntry[]): Promise<void> {
    const command = new SendMessageBatchCommand({
      QueueUrl: this.#queueUrl,
      Entries: chunk.map((entry, index) => ({
        Id: String(index),
        MessageBody: entry.body,
        DelaySeconds: entry.delaySeconds,
      })),
    })
    const output = await this.#client.send(command).catch((error: unknown) => {
      throw translateAwsError(error, 'queue send')
    })
    const failed = output.Failed ?? []
    if (failed.length > 0) {
      // A batch answers 200 even when entries failed: report it, never a silent partial success.
      const codes = [...new Set(failed.map((entry) => entry.Code))].join(', ')
      throw new StorageUnavailableError(`queue send failed for ${failed.length} of ${chunk.length} messages (${codes})`)
    }
  }

  async receive({ maxMessages, waitSeconds, visibilitySeconds, signal }: ReceiveOptions): Promise<QueueMessage[]> {
    if (signal?.aborted) return []
    const command = new ReceiveMessageCommand({
      QueueUrl: this.#queueUrl,
      MaxNumberOfMessages: maxMessages,
      WaitTimeSeconds: waitSeconds,
      VisibilityTimeout: visibilitySeconds,
      // Both spellings: older endpoints and emulators only know the deprecated AttributeNames,
      // whose SDK type lacks the message attribute names it has always accepted.
      AttributeNames: ['ApproximateReceiveCount' as QueueAttributeName],
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    })
    try {
      const output = await this.#client.send(command, { abortSignal: signal })
      return (output.Messages ?? []).map((message) => ({
        receipt: message.ReceiptHandle ?? '',
        body: message.Body ?? '',
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
        messageId: message.MessageId ?? '',
      }))
    } catch (error) {
      // An aborted long poll is the caller ending it, not a failure; anything SQS had handed out
      // in that instant becomes visible again when its visibility timeout ends.
      if (signal?.aborted || awsErrorName(error) === 'AbortError') return []
      throw translateAwsError(error, 'queue receive')
    }
  }

  async delete(receipt: string): Promise<void> {
    const command = new DeleteMessageCommand({ QueueUrl: this.#queueUrl, ReceiptHandle: receipt })
    await ignoringStaleReceipt(this.#client.send(command), 'queue delete')
  }

  async changeVisibility(receipt: string, visibilitySeconds: number): Promise<void> {
    const command = new ChangeMessageVisibilityCommand({
      QueueUrl: this.#queueUrl,
      ReceiptHandle: receipt,
      VisibilityTimeout: visibilitySeconds,
    })
    await ignoringStaleReceipt(this.#client.send(command), 'queue change visibility')
  }
}

async function ignoringStaleReceipt(call: Promise<unknown>, action: string): Promise<void> {
  try {
    await call
  } catch (error) {
    if (!isStaleReceiptError(error)) throw translateAwsError(error, action)
  }
}

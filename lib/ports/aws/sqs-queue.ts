import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
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
 * Deletes asked for within this long of each other share one DeleteMessageBatch (up to 10): an
 * ack request's acks finish their ledger writes at about the same time, and each delete is an
 * SQS request billed on its own.
 */
const DELETE_BATCH_WINDOW_IN_MS = 2

/** An error code (of a call, or of one batch entry) that only means the receipt is stale (see isStaleReceiptError). */
function isStaleReceiptCode(code: string | undefined, message: string | undefined): boolean {
  if (code === 'ReceiptHandleIsInvalid' || code === 'MessageNotInflight') return true
  // An expired receipt answers InvalidParameterValue ("The receipt handle has expired").
  return (code ?? '').startsWith('InvalidParameterValue') && /receipt ?handle/i.test(message ?? '')
}

interface PendingDelete {
  receipt: string
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Errors that only mean the receipt is stale (the message was deleted, re-received, or its lease
 * ended): the port treats delete/changeVisibility with a stale receipt as a no-op.
 */
function isStaleReceiptError(error: unknown): boolean {
  return isStaleReceiptCode(awsErrorName(error), (error as Error).message)
}

let defaultClient: SQSClient | undefined
// The regional endpoint, not the queue URL's host: equal on AWS, and it lets the standard
// AWS_ENDPOINT_URL_SQS variable point the default client at an emulator.
const moduleClient = (): SQSClient => (defaultClient ??= new SQSClient({ useQueueUrlAsEndpoint: false }))

/** The work queue on an SQS standard queue (its redrive policy and DLQ are configured on the queue itself). */
export class SqsWorkQueue implements WorkQueue {
  readonly #queueUrl: string
  readonly #client: SQSClient
  #pendingDeletes: PendingDelete[] = []
  #deleteTimer: NodeJS.Timeout | undefined

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

  /** Resolves once SQS deleted the message (or the receipt was stale); deletes close together go in one batch. */
  delete(receipt: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pendingDeletes.push({ receipt, resolve, reject })
      if (this.#pendingDeletes.length >= MAX_BATCH_ENTRIES) this.#flushDeletes()
      else this.#deleteTimer ??= setTimeout(() => this.#flushDeletes(), DELETE_BATCH_WINDOW_IN_MS)
    })
  }

  #flushDeletes(): void {
    clearTimeout(this.#deleteTimer)
    this.#deleteTimer = undefined
    while (this.#pendingDeletes.length > 0) void this.#deleteBatch(this.#pendingDeletes.splice(0, MAX_BATCH_ENTRIES))
  }

  async #deleteBatch(batch: PendingDelete[]): Promise<void> {
    const [only] = batch
    if (batch.length === 1 && only !== undefined) {
      const command = new DeleteMessageCommand({ QueueUrl: this.#queueUrl, ReceiptHandle: only.receipt })
      await ignoringStaleReceipt(this.#client.send(command), 'queue delete').then(only.resolve, only.reject)
      return
    }
    try {
      const command = new DeleteMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: batch.map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.receipt })) })
      const output = await this.#client.send(command)
      const failed = new Map((output.Failed ?? []).map((entry) => [entry.Id, entry]))
      batch.forEach((entry, index) => {
        const failure = failed.get(String(index))
        if (failure === undefined || isStaleReceiptCode(failure.Code, failure.Message)) entry.resolve()
        else entry.reject(new StorageUnavailableError(`queue delete failed (${failure.Code ?? 'unknown'}: ${failure.Message ?? ''})`))
      })
    } catch (error) {
      const translated = translateAwsError(error, 'queue delete')
      for (const entry of batch) entry.reject(translated)
    }
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

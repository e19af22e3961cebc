import middy from '@middy/core'
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda'
import { handleRedrivenMessage } from '../lib/relay/repair.ts'
import { getRuntime } from '../lib/runtime/runtime.ts'

/** Subscriber of the dead-letter queue: dead-letters the requests in the ledger (partial batch failures). */
export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
  const runtime = await getRuntime()
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = []
  for (const record of event.Records) {
    const handled = await handleRedrivenMessage(runtime, {
      body: record.body,
      messageId: record.messageId,
      receiveCount: Number(record.attributes.ApproximateReceiveCount),
    }).catch((error: unknown) => {
      runtime.log.error('could not dead-letter a redriven message', { messageId: record.messageId, error: String(error) })
      return false
    })
    if (!handled) batchItemFailures.push({ itemIdentifier: record.messageId })
  }
  runtime.flush()
  return { batchItemFailures }
})

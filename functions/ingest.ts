import { httpHandler } from '../lib/http/http-handler.ts'
import { headersOf, queryOf, rawBodyOf } from '../lib/http/lambda-io.ts'
import { ingestWebhook } from '../lib/relay/ingest.ts'

/** POST /hooks/{source} — the public webhook endpoint. */
export const handler = httpHandler(async (runtime, event) =>
  ingestWebhook(runtime, {
    source: event.pathParameters?.source ?? '',
    headers: headersOf(event),
    query: queryOf(event),
    rawBody: rawBodyOf(event),
  }),
)

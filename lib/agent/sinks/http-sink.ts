import type { DeliverConfig } from '../config.ts'
import { httpFailure } from '../http-failure.ts'
import type { HttpClient, HttpResponse } from '../http-client.ts'
import { renderHeaders, renderTemplate, requestValues } from '../connectors/template.ts'
import { perDeliverySink, type Delivery, type Sink, type SinkResponse, type SinkResult } from './sink.ts'

type HttpDeliverConfig = Extract<DeliverConfig, { type: 'http' }>

/**
 * Delivers to an on-prem HTTP endpoint. Every call carries `Idempotency-Key` (the same on each
 * redelivery of one change, see idempotency.ts) so the endpoint can drop duplicates.
 */
export function createHttpSink(config: HttpDeliverConfig, deps: { http: HttpClient; now?: () => number }): Sink {
  const now = deps.now ?? Date.now
  return perDeliverySink(async (delivery: Delivery, signal?: AbortSignal): Promise<SinkResult> => {
    const values = requestValues(delivery)
    const asRecord = config.format === 'record'
    const method = asRecord && delivery.op === 'delete' ? 'DELETE' : config.method
    const body = asRecord ? delivery.record : envelopeOf(delivery)
    const what = `deliver ${delivery.source} ${delivery.recordId}`
    const response = await deps.http.request({
      what,
      url: renderTemplate(config.url, values, 'url'),
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        'idempotency-key': delivery.idempotencyKey,
        ...metadataHeaders(delivery),
        ...renderHeaders(config.headers, values),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs: config.timeoutMs,
      ...(signal ? { signal } : {}),
    })
    if (response.status < 200 || response.status >= 300) throw httpFailure('agent.deliver_failed', what, response, { now: now() })
    return { response: sinkResponseOf(response) }
  })
}

function envelopeOf(delivery: Delivery): Omit<Delivery, 'idempotencyKey'> {
  const { idempotencyKey: _key, ...envelope } = delivery
  return envelope
}

/** Who and what, for endpoints that take the bare record. */
function metadataHeaders(delivery: Delivery): Record<string, string> {
  return {
    'hookferry-operation': delivery.op,
    'hookferry-source': delivery.source,
    'hookferry-record-id': encodeURIComponent(delivery.recordId),
    'hookferry-request-id': delivery.requestId,
    ...(delivery.recordType ? { 'hookferry-record-type': encodeURIComponent(delivery.recordType) } : {}),
    ...(delivery.event ? { 'hookferry-event': encodeURIComponent(delivery.event) } : {}),
    ...(delivery.version ? { 'hookferry-version': encodeURIComponent(delivery.version) } : {}),
  }
}

/** The endpoint's answer, its body parsed when it is JSON. */
export function sinkResponseOf(response: HttpResponse): SinkResponse {
  let body: unknown = response.text
  if (/\bjson\b/i.test(response.headers['content-type'] ?? '')) {
    try {
      body = JSON.parse(response.text)
    } catch {
      // keep the text
    }
  }
  return { status: response.status, headers: response.headers, body }
}

import { startHttpTestServer, type ReceivedRequest, type Reply } from './http-test-server.ts'
import type { TestScope } from './test-scope.ts'

/** One delivery attempt the fake on-prem system received. */
export interface SinkDelivery extends ReceivedRequest {
  /** From the Hookferry-Record-Id header. */
  recordId: string
  idempotencyKey: string | undefined
  /** From the Hookferry-Version header (sources with a configured version). */
  version: string | undefined
  /** The status it was given. */
  status: number
  /** The answer reached the agent's connection (false while slow, or when the agent died waiting). */
  answered: boolean
  /** When it did (epoch ms). */
  answeredAt?: number
}

export type SinkState = 'up' | 'unavailable' | 'refusing'

export interface FakeSink {
  url: string
  /** Every delivery attempt, in order of arrival, whatever its fate. */
  received: SinkDelivery[]
  /** Attempts answered 2xx: what the on-prem system took in (of one record, if given). */
  accepted(recordId?: string): SinkDelivery[]
  /** Decides each answer while up; default 200 `{"onPremId": "ERP-<recordId>"}`. */
  reply: (delivery: SinkDelivery) => Reply
  /** Every answer waits this long (a slow system), unless `reply` says otherwise. */
  delayMs: number
  /** `unavailable`: 503 to everything; `refusing`: connections refused; `up`: normal. */
  setState(state: SinkState): Promise<void>
  close(): Promise<void>
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)

/**
 * A fake on-prem HTTP endpoint over real HTTP: records every delivery attempt with its
 * Idempotency-Key and Hookferry-* headers, answers as scripted, and can be down (503 or refused
 * connections) for a while or for ever.
 */
export async function startFakeSink(scope: TestScope): Promise<FakeSink> {
  let state: SinkState = 'up'
  const deliveryOf = new WeakMap<ReceivedRequest, SinkDelivery>()
  const server = await startHttpTestServer(
    (request) => {
      const recordId = decodeURIComponent(header(request.headers['hookferry-record-id']) ?? request.path.split('/').pop() ?? '')
      const version = header(request.headers['hookferry-version'])
      const delivery: SinkDelivery = {
        ...request,
        recordId,
        idempotencyKey: header(request.headers['idempotency-key']),
        version: version === undefined ? undefined : decodeURIComponent(version),
        status: 0,
        answered: false,
      }
      const reply = state === 'unavailable' ? { status: 503, body: { error: 'maintenance' } } : { delayMs: sink.delayMs, ...sink.reply(delivery) }
      delivery.status = reply.status
      sink.received.push(delivery)
      deliveryOf.set(request, delivery)
      return reply
    },
    (request) => {
      const delivery = deliveryOf.get(request)
      if (!delivery) return
      delivery.answered = true
      delivery.answeredAt = Date.now()
    },
  )
  scope.defer(() => server.close())

  const sink: FakeSink = {
    url: server.url,
    received: [],
    accepted: (recordId) => sink.received.filter((delivery) => delivery.answered && delivery.status < 300 && (recordId === undefined || delivery.recordId === recordId)),
    reply: (delivery) => ({ status: 200, body: { onPremId: `ERP-${delivery.recordId}` } }),
    delayMs: 0,
    async setState(next) {
      if (next === 'refusing' && state !== 'refusing') await server.refuseConnections()
      if (next !== 'refusing' && state === 'refusing') await server.acceptConnections()
      state = next
    },
    close: () => server.close(),
  }
  return sink
}

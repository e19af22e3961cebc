import { describe, expect, it } from 'vitest'
import { startFakeSink } from '../support/fake-sink.ts'
import { requestIdsOf, startRelay, webhookSource } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/** Request/reply sources: the webhook's response is the on-prem system's answer, within a bound. */
const scope = useTestScope()

async function startSyncSystem() {
  const sink = await startFakeSink(scope)
  sink.reply = (delivery) =>
    delivery.recordId === 'ord_slow'
      ? { status: 200, body: { late: true }, delayMs: 1_500 }
      : { status: 201, headers: { 'x-erp-order': `ERP-${delivery.recordId}`, 'x-internal-trace': 'not for the caller' }, body: { order: `ERP-${delivery.recordId}`, accepted: true } }
  const syncSource = (timeoutMs: number) => webhookSource({ mode: 'sync', forwardPayload: true, sync: { timeoutMs, headers: ['content-type', 'x-erp-order'] } })
  const relay = await startRelay(scope, { sources: { orders: syncSource(8_000), 'orders-tight': syncSource(300) } })
  const agentSource = { fetch: { type: 'payload' }, deliver: { type: 'http', url: `${sink.url}/orders/{id}`, method: 'POST' } }
  await relay.startAgent({ sources: { orders: agentSource, 'orders-tight': agentSource } })
  return { sink, relay }
}

describe('a sync source', () => {
  it("answers the webhook with the sink's status, body and allowed headers", async () => {
    const { sink, relay } = await startSyncSystem()

    const reply = await relay.sendWebhook('orders', { type: 'order.placed', data: { id: 'ord_1', quantity: 2 } })

    expect(reply.status).toBe(201)
    expect(reply.json()).toEqual({ order: 'ERP-ord_1', accepted: true })
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
    expect(reply.headers.get('x-erp-order')).toBe('ERP-ord_1')
    expect(reply.headers.get('x-internal-trace')).toBeNull()
    // The forwarded webhook body is what the sink got.
    expect(sink.accepted('ord_1')).toMatchObject([{ body: { type: 'order.placed', data: { id: 'ord_1', quantity: 2 } } }])
  })

  it('answers 202 when the agent is slower than sync.timeoutMs, and the work still completes', async () => {
    const { sink, relay } = await startSyncSystem()

    const reply = await relay.sendWebhook('orders-tight', { type: 'order.placed', data: { id: 'ord_slow' } })

    const [requestId] = requestIdsOf(reply)
    // The answer did not wait for the sink, which had not answered yet.
    expect(sink.accepted('ord_slow')).toEqual([])
    await eventually('the slow delivery accepted', () => sink.accepted('ord_slow').length === 1)
    expect(await relay.requestIn(requestId!, 'done')).toMatchObject({ mode: 'sync', attempts: 1, replyStatus: 200 })
  })
})

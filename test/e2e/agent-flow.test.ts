import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startFakeSaas } from '../support/fake-saas.ts'
import { startFakeSink } from '../support/fake-sink.ts'
import { requestIdsOf, startRelay, webhookSource } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/** The whole path with real processes: signed webhook → serve → agent → SaaS fetch → sink → write-back. */
const scope = useTestScope()

describe('a change travels from the SaaS to on-prem', () => {
  it('fetches the record by id, delivers it to an HTTP sink and a file sink, and writes the on-prem id back', async () => {
    const saas = await startFakeSaas(scope)
    const sink = await startFakeSink(scope)
    saas.change('customers', 'cus_1', { name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro' })
    saas.change('tickets', 'T-7', { title: 'Printer on fire', priority: 'high' })
    const auth = { type: 'bearer', token: '${SAAS_TOKEN}' }

    const relay = await startRelay(scope, { sources: { crm: webhookSource(), helpdesk: webhookSource({ extract: { recordId: 'body.data.id', recordType: "'ticket'", event: 'body.type' } }) } })
    const agent = await relay.startAgent({
      sources: {
        crm: {
          fetch: { type: 'http', url: saas.recordUrl('customers'), auth, version: 'version' },
          transform: { jsonata: '{ "id": record.id, "name": record.name, "email": record.email, "plan": record.plan }' },
          deliver: { type: 'http', url: `${sink.url}/customers/{id}`, method: 'PUT' },
          writeBack: { url: saas.recordUrl('customers'), method: 'PATCH', body: '{ "external_id": response.body.onPremId }' },
        },
        helpdesk: {
          fetch: { type: 'http', url: saas.recordUrl('tickets'), auth, version: 'version' },
          deliver: { type: 'file', path: './out/tickets.ndjson' },
        },
      },
      env: { SAAS_TOKEN: saas.token },
    })

    const [crmRequest] = requestIdsOf(await relay.recordChanged('crm', 'cus_1', 'customer.updated'))
    const [ticketRequest] = requestIdsOf(await relay.recordChanged('helpdesk', 'T-7', 'ticket.created'))

    await eventually('both requests done', () => {
      const done = agent.logsWith('request done').map((line) => line.requestId)
      return done.includes(crmRequest) && done.includes(ticketRequest)
    })

    // HTTP sink: the transformed record, PUT to its URL, with the relay's headers.
    const [delivery, ...others] = sink.accepted('cus_1')
    expect(others).toEqual([])
    expect(delivery).toMatchObject({
      method: 'PUT',
      path: '/customers/cus_1',
      version: '1',
      body: { id: 'cus_1', name: 'Ada Lovelace', email: 'ada@example.com', plan: 'pro' },
      headers: expect.objectContaining({ 'hookferry-operation': 'upsert', 'hookferry-source': 'crm', 'hookferry-event': 'customer.updated', 'hookferry-request-id': crmRequest }),
    })
    expect(delivery!.idempotencyKey).toMatch(/^[0-9a-f]{64}$/)
    // The SaaS was asked with its API token (the cloud never saw it).
    expect(saas.fetchesOf('customers', 'cus_1')).toMatchObject([{ status: 200, headers: expect.objectContaining({ authorization: `Bearer ${saas.token}` }) }])

    // Write-back: the on-prem id, PATCHed onto the SaaS record.
    expect(saas.patches).toMatchObject([{ collection: 'customers', id: 'cus_1', body: { external_id: 'ERP-cus_1' }, status: 200 }])
    expect(saas.record('customers', 'cus_1')).toMatchObject({ external_id: 'ERP-cus_1' })

    // File sink: one NDJSON line with the whole delivery.
    const lines = readFileSync(join(relay.dir, 'agent', 'out', 'tickets.ndjson'), 'utf8').trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toMatchObject({
      op: 'upsert',
      source: 'helpdesk',
      recordId: 'T-7',
      recordType: 'ticket',
      event: 'ticket.created',
      requestId: ticketRequest,
      version: '1',
      idempotencyKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      record: { id: 'T-7', title: 'Printer on fire', priority: 'high', version: 1 },
      deliveredAt: expect.any(String),
    })

    // The ledger agrees: both done at the first attempt.
    for (const requestId of [crmRequest!, ticketRequest!]) expect(await relay.requestIn(requestId, 'done')).toMatchObject({ attempts: 1 })
  })
})

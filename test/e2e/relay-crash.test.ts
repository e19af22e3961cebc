import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startFakeSaas } from '../support/fake-saas.ts'
import { startFakeSink } from '../support/fake-sink.ts'
import { startServeProcess } from '../support/processes.ts'
import { startRelay, webhookSource, type WebhookReply } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/** Invariant 1: a 202 means the work is on disk — `hookferry serve` killed right after it loses nothing. */
const scope = useTestScope()
const RECORDS = Array.from({ length: 40 }, (_, index) => `cus_${index}`)

describe('hookferry serve killed with SIGKILL right after a burst of 202s', () => {
  it('delivers every acknowledged record after a restart on the same data directory', { timeout: 45_000 }, async () => {
    const saas = await startFakeSaas(scope)
    const sink = await startFakeSink(scope)
    for (const id of RECORDS) saas.change('customers', id, { name: `Customer ${id}` })
    const relay = await startRelay(scope, { sources: { crm: webhookSource() } })

    // The whole burst at once; serve dies as soon as the last 202 is in, some requests may still be on their way.
    const accepted: string[] = []
    const burst = RECORDS.map((id) =>
      relay.recordChanged('crm', id).then(
        (reply: WebhookReply) => {
          expect(reply.status).toBe(202)
          accepted.push(id)
        },
        () => undefined,
      ),
    )
    await eventually('most of the burst answered 202', () => accepted.length >= RECORDS.length - 5)
    const killed = await relay.serve.kill()
    await Promise.all(burst)
    expect(killed.signal).toBe('SIGKILL')
    const acknowledged = [...accepted]
    expect(acknowledged.length).toBeGreaterThanOrEqual(RECORDS.length - 5)

    // Same config, same data directory, same port: the agent below finds it where the config says.
    const port = Number(new URL(relay.url).port)
    await startServeProcess(scope, { configFile: join(relay.dir, 'hookferry.yaml'), dataDir: join(relay.dir, 'data'), port, name: 'serve (after the crash)' })
    await relay.startAgent({
      concurrency: 8,
      sources: { crm: { fetch: { type: 'http', url: saas.recordUrl('customers'), auth: { type: 'bearer', token: '${SAAS_TOKEN}' } }, deliver: { type: 'http', url: `${sink.url}/customers/{id}`, method: 'PUT' } } },
      env: { SAAS_TOKEN: saas.token },
    })

    await eventually('every acknowledged record delivered', () => acknowledged.every((id) => sink.accepted(id).length > 0), { timeoutMs: 20_000 })
    // Once each: the ledger survived too, so nothing was queued twice.
    expect(acknowledged.map((id) => [id, sink.accepted(id).length])).toEqual(acknowledged.map((id) => [id, 1]))
    for (const id of acknowledged) expect(sink.accepted(id)[0]!.body).toMatchObject({ id, name: `Customer ${id}` })
  })
})

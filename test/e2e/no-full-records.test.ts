import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ScanCommand } from '@aws-sdk/client-dynamodb'
import { describe, expect, it } from 'vitest'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import { DynamoLedger } from '../../lib/ports/aws/dynamo-ledger.ts'
import { SqsWorkQueue } from '../../lib/ports/aws/sqs-queue.ts'
import { ackLeases, pullLeases } from '../../lib/relay/agent-service.ts'
import { noMetrics, silentLog, type RelayDeps } from '../../lib/relay/deps.ts'
import { ingestWebhook } from '../../lib/relay/ingest.ts'
import { signWebhook } from '../../lib/sources/sign.ts'
import { createDynamoTable, startSqs } from '../support/emulators.ts'
import { startFakeSaas } from '../support/fake-saas.ts'
import { startFakeSink } from '../support/fake-sink.ts'
import { requestIdsOf, startRelay, webhookSource } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/**
 * Invariant 6, first half: with `forwardPayload` off (the default) the cloud keeps ids, never a
 * webhook body. Every body carries a marker no id or event name contains; after a full run none of
 * them is anywhere in the stored bytes. A source with `forwardPayload: true` is the control: its
 * marker must be found, or the scan proves nothing.
 */
const scope = useTestScope()
const RECORDS = ['cus_1', 'cus_2', 'cus_3', 'cus_4', 'cus_5']

/** A webhook body for a `webhookSource`, with fields only the body holds. */
const bodyWith = (recordId: string, marker: string) => ({ type: 'record.updated', data: { id: recordId, note: marker, address: { street: `${marker} street 1` } } })
const markerFor = (recordId: string) => `body-marker-${randomUUID()}-${recordId}`

/** Every file under `dir`, whatever it is (database, WAL, shared memory, journals). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

/** Which of `needles` occur in the bytes of `haystack`, as UTF-8 or as base64 of UTF-8. */
const found = (haystack: Buffer, needles: string[]) =>
  needles.filter((needle) => haystack.includes(Buffer.from(needle, 'utf8')) || haystack.includes(Buffer.from(Buffer.from(needle, 'utf8').toString('base64'))))

describe('the embedded default (hookferry serve, SQLite) with forwardPayload off', () => {
  it('holds no byte of any webhook body in its data files, while running and after it stopped', { timeout: 45_000 }, async () => {
    const saas = await startFakeSaas(scope)
    const sink = await startFakeSink(scope)
    for (const id of RECORDS) saas.change('customers', id, { name: `Customer ${id}` })
    const relay = await startRelay(scope, { sources: { crm: webhookSource(), forwarded: webhookSource({ forwardPayload: true }) } })
    await relay.startAgent({
      sources: {
        crm: { fetch: { type: 'http', url: saas.recordUrl('customers'), auth: { type: 'bearer', token: '${SAAS_TOKEN}' } }, deliver: { type: 'http', url: `${sink.url}/customers/{id}`, method: 'PUT' } },
        forwarded: { fetch: { type: 'payload' }, deliver: { type: 'http', url: `${sink.url}/forwarded/{id}`, method: 'PUT' } },
      },
      env: { SAAS_TOKEN: saas.token },
    })

    const markers: string[] = []
    const bodies: string[] = []
    const requestIds: string[] = []
    for (const id of RECORDS) {
      // Two events per record: one is processed, one may be coalesced or deferred.
      for (let event = 0; event < 2; event++) {
        const marker = markerFor(id)
        const body = bodyWith(id, marker)
        markers.push(marker)
        bodies.push(JSON.stringify(body.data))
        requestIds.push(...requestIdsOf(await relay.sendWebhook('crm', body)))
      }
    }
    const control = markerFor('fwd_1')
    requestIdsOf(await relay.sendWebhook('forwarded', bodyWith('fwd_1', control)))
    for (const requestId of new Set(requestIds)) await relay.requestIn(requestId, 'done')
    await eventually('the forwarded record delivered', () => sink.received.some((delivery) => delivery.recordId === 'fwd_1'))

    const dataDir = join(relay.dir, 'data')
    const scan = () => {
      const bytes = Buffer.concat(filesUnder(dataDir).map((file) => readFileSync(file)))
      return { leaked: found(bytes, [...markers, ...bodies]), control: found(bytes, [control]) }
    }
    expect(scan()).toEqual({ leaked: [], control: [control] })
    expect(found(Buffer.from(relay.serve.stdout + relay.serve.stderr), [...markers, ...bodies])).toEqual([])
    // A clean stop checkpoints the WAL into the database file.
    expect((await relay.serve.stop()).code).toBe(0)
    expect(scan()).toEqual({ leaked: [], control: [control] })
  })
})

describe('the AWS adapters (DynamoDB Local, SQS on fauxqs) with forwardPayload off', () => {
  it('hold no byte of any webhook body in any ledger item or queue message', { timeout: 45_000 }, async () => {
    const [sqs, table] = await Promise.all([startSqs({ maxReceiveCount: 15 }), createDynamoTable()])
    scope.defer(() => Promise.all([sqs.stop(), table.drop()]))
    const source = webhookSource()
    const config = parseWithSchema(serverConfigSchema, { sources: { crm: source, forwarded: { ...source, forwardPayload: true } }, lease: { defaultSeconds: 30 } }, 'test config')
    const relay: RelayDeps = {
      config,
      ledger: new DynamoLedger({ tableName: table.tableName, client: table.client }),
      queue: new SqsWorkQueue({ queueUrl: sqs.queueUrl, client: sqs.client }),
      log: silentLog,
      metrics: noMetrics,
      now: () => new Date(),
      newId: randomUUID,
      random: Math.random,
    }
    const send = async (sourceName: string, body: unknown) => {
      const rawBody = Buffer.from(JSON.stringify(body))
      const headers = { 'content-type': 'application/json', ...signWebhook(config.sources[sourceName]!.verify, rawBody, { now: new Date(), id: randomUUID() }) }
      const reply = await ingestWebhook(relay, { source: sourceName, headers, query: {}, rawBody })
      expect(reply.statusCode).toBe(202)
    }

    const markers: string[] = []
    const bodies: string[] = []
    for (const id of RECORDS) {
      const marker = markerFor(id)
      markers.push(marker)
      bodies.push(JSON.stringify(bodyWith(id, marker).data))
      await send('crm', bodyWith(id, marker))
    }
    const control = markerFor('fwd_1')
    await send('forwarded', bodyWith('fwd_1', control))

    // Through every state: done, retried, dead-lettered, deferred behind a lease, and still queued.
    const { leases } = await pullLeases(relay, 'agent-1', { max: 4, waitSeconds: 5 })
    expect(leases.length).toBeGreaterThan(0)
    const [first, second, third] = leases
    const late = markerFor(first!.recordId)
    markers.push(late)
    bodies.push(JSON.stringify(bodyWith(first!.recordId, late).data))
    await send('crm', bodyWith(first!.recordId, late))
    await ackLeases(relay, 'agent-1', [
      { lease: first!.lease, outcome: 'done' },
      ...(second ? [{ lease: second.lease, outcome: 'retry' as const, delaySeconds: 60, error: { code: 'sink.down', message: 'refused' } }] : []),
      ...(third ? [{ lease: third.lease, outcome: 'fail' as const, error: { code: 'sink.rejected', message: 'bad record' } }] : []),
    ])

    const items: unknown[] = []
    let startKey: Record<string, unknown> | undefined
    do {
      const page = await table.client.send(new ScanCommand({ TableName: table.tableName, ...(startKey ? { ExclusiveStartKey: startKey as never } : {}) }))
      items.push(...(page.Items ?? []))
      startKey = page.LastEvaluatedKey
    } while (startKey)
    const messages = await new SqsWorkQueue({ queueUrl: sqs.queueUrl, client: sqs.client }).receive({ maxMessages: 10, waitSeconds: 1, visibilitySeconds: 30 })
    const stored = Buffer.from(JSON.stringify(items) + JSON.stringify(messages))
    expect(items.length).toBeGreaterThan(RECORDS.length)
    expect(found(stored, [...markers, ...bodies])).toEqual([])
    expect(found(stored, [control])).toEqual([control])
  })
})

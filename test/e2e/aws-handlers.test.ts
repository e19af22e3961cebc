import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, SQSEvent } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../lib/relay/agent-auth.ts'
import { createDynamoTable, lambdaEnvironment, startSqs, type DynamoTable, type SqsEmulator } from '../support/emulators.ts'
import { signWebhook } from '../../lib/sources/sign.ts'

/**
 * The AWS path: the Lambda handlers in functions/ built their runtime exactly as on AWS (config
 * file, SST linked resources, default SDK clients), here pointed at fauxqs and DynamoDB Local
 * through the SDK's standard endpoint variables.
 */
type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>

const AGENT_TOKEN = 'aws-path-agent-token'
const SECRET = 'gh-aws-secret'
let sqs: SqsEmulator
let table: DynamoTable
let dir: string
const handlers: Record<string, HttpHandler> = {}
let deadLetter: (event: SQSEvent, context: Context) => Promise<{ batchItemFailures: unknown[] }>
let repair: (event: unknown, context: Context) => Promise<{ resent: number }>

beforeAll(async () => {
  ;[sqs, table] = await Promise.all([startSqs({ maxReceiveCount: 15 }), createDynamoTable()])
  dir = mkdtempSync(join(tmpdir(), 'hookferry-aws-'))
  const configFile = join(dir, 'hookferry.yaml')
  writeFileSync(
    configFile,
    [
      'sources:',
      '  github:',
      '    verify: { scheme: github, secrets: ["${GithubWebhookSecret}"] }',
      '    extract: { recordId: body.issue.id, event: "headers.`x-github-event`" }',
      'agents:',
      `  - { id: edge, tokenSha256: ${sha256Hex(AGENT_TOKEN)} }`,
    ].join('\n'),
  )
  Object.assign(
    process.env,
    lambdaEnvironment({
      configFile,
      sqs,
      table,
      // An sst.Secret reaches the config as a linked resource, not a plain variable.
      extra: { SST_RESOURCE_GithubWebhookSecret: JSON.stringify({ value: SECRET }), POWERTOOLS_METRICS_DISABLED: 'true' },
    }),
  )
  for (const fn of ['ingest', 'agent-pull', 'agent-ack', 'agent-heartbeat']) {
    handlers[fn] = ((await import(`../../functions/${fn}.ts`)) as { handler: HttpHandler }).handler
  }
  deadLetter = ((await import('../../functions/dead-letter.ts')) as { handler: typeof deadLetter }).handler
  repair = ((await import('../../functions/repair.ts')) as { handler: typeof repair }).handler
})

afterAll(async () => {
  await Promise.all([sqs?.stop(), table?.drop()])
  rmSync(dir, { recursive: true, force: true })
})

const context = { awsRequestId: 'test', getRemainingTimeInMillis: () => 29_000 } as unknown as Context
const event = (routeKey: string, body: string, headers: Record<string, string>, pathParameters?: Record<string, string>): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1]!,
    rawQueryString: '',
    headers,
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: { http: { method: 'POST', path: routeKey.split(' ')[1]!, sourceIp: '203.0.113.9' } },
    // API Gateway passes JSON bodies as text, not base64.
    body,
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2
const agentCall = async (fn: string, body: unknown) => {
  const result = await handlers[fn]!(event(`POST /agent/v1/${fn.slice(6)}`, JSON.stringify(body), { 'content-type': 'application/json', authorization: `Bearer ${AGENT_TOKEN}` }), context)
  return { statusCode: result.statusCode, body: JSON.parse(result.body ?? '{}') as Record<string, never> }
}

describe('Lambda handlers on the AWS adapters', () => {
  it('ingest → pull → ack, with the secret from an SST linked resource', async () => {
    const raw = JSON.stringify({ action: 'opened', issue: { id: 314 } })
    const headers = { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': 'aws-1', ...signWebhook({ scheme: 'github', secrets: [SECRET] }, Buffer.from(raw), { now: new Date() }) }
    const accepted = await handlers.ingest!(event('POST /hooks/{source}', raw, headers, { source: 'github' }), context)
    expect(accepted.statusCode).toBe(202)
    const { requests } = JSON.parse(accepted.body!) as { requests: string[] }

    const pulled = await agentCall('agent-pull', { waitSeconds: 2 })
    expect(pulled.statusCode).toBe(200)
    const leases = pulled.body.leases as unknown as { lease: string; requestId: string; recordId: string }[]
    expect(leases).toEqual([expect.objectContaining({ requestId: requests[0], recordId: '314' })])
    const acked = await agentCall('agent-ack', { acks: [{ lease: leases[0]!.lease, outcome: 'done' }] })
    expect(acked.body.results).toEqual([expect.objectContaining({ status: 'ok' })])
    expect((await agentCall('agent-heartbeat', { version: '9.9.9', inFlight: 0 })).statusCode).toBe(200)
  })

  it('rejects a bad signature with 401 and a JSON error', async () => {
    const result = await handlers.ingest!(event('POST /hooks/{source}', '{"issue":{"id":1}}', { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' }, { source: 'github' }), context)
    expect(result.statusCode).toBe(401)
    expect(JSON.parse(result.body!)).toMatchObject({ error: { code: 'source.signature_invalid' } })
  })

  it('dead-letter subscriber dead-letters a redriven request; repair runs', async () => {
    const raw = JSON.stringify({ action: 'edited', issue: { id: 2718 } })
    const headers = { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': 'aws-2', ...signWebhook({ scheme: 'github', secrets: [SECRET] }, Buffer.from(raw), { now: new Date() }) }
    const { requests } = JSON.parse((await handlers.ingest!(event('POST /hooks/{source}', raw, headers, { source: 'github' }), context)).body!) as { requests: string[] }
    const body = JSON.stringify({ v: 1, requestId: requests[0], recordKey: 'github##2718' })
    const result = await deadLetter({ Records: [{ messageId: 'm1', body, attributes: { ApproximateReceiveCount: '16' } }] } as unknown as SQSEvent, context)
    expect(result.batchItemFailures).toEqual([])
    const { DynamoLedger } = await import('../../lib/ports/aws/dynamo-ledger.ts')
    const ledger = new DynamoLedger({ tableName: table.tableName, client: table.client })
    expect(await ledger.getRequest(requests[0]!)).toMatchObject({ state: 'dead', lastError: { code: 'queue.redriven' } })
    expect(await repair({}, context)).toMatchObject({ resent: 0 })
  })
})

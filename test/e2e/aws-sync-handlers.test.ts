import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { CheckpointResponse, LeaseGrant } from '../../lib/relay/agent-api.ts'
import { sha256Hex } from '../../lib/relay/agent-auth.ts'
import { ZERO_COUNTS } from '../../lib/relay/sync-types.ts'
import { createDynamoTable, lambdaEnvironment, startSqs, type DynamoTable, type SqsEmulator } from '../support/emulators.ts'

/**
 * Scheduled sync on the AWS path: the SyncSchedule cron's handler, agent-pull, agent-checkpoint and
 * agent-ack as Lambda runs them (runtime from the config file and SST linked resources), on fauxqs
 * and DynamoDB Local; the watchdog's per-job gauge as the EMF line CloudWatch reads.
 */
type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>
type CronHandler = (event: unknown, context: Context) => Promise<Record<string, unknown>>

const AGENT_TOKEN = 'aws-sync-agent-token'
let sqs: SqsEmulator
let table: DynamoTable
let dir: string
const handlers: Record<string, HttpHandler> = {}
let schedule: CronHandler
let repair: CronHandler
/** What the functions write: Powertools prints EMF metric lines (and its warnings) on stdout/stderr. */
let written: string[] = []

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk))
      return true
    })
  }
  ;[sqs, table] = await Promise.all([startSqs({ maxReceiveCount: 15 }), createDynamoTable()])
  dir = mkdtempSync(join(tmpdir(), 'hookferry-aws-sync-'))
  const configFile = join(dir, 'hookferry.yaml')
  writeFileSync(
    configFile,
    [
      'sources:',
      '  crm:',
      '    verify: { scheme: token, secrets: [s3cret] }',
      '    extract: { recordId: body.id }',
      '    jobs:',
      '      contacts: { schedule: "*/10 * * * *", timezone: Europe/Berlin, firstRun: immediately, lagSeconds: 0 }',
      'agents:',
      `  - { id: edge, tokenSha256: ${sha256Hex(AGENT_TOKEN)} }`,
    ].join('\n'),
  )
  Object.assign(process.env, lambdaEnvironment({ configFile, sqs, table }))
  for (const fn of ['agent-pull', 'agent-checkpoint', 'agent-ack']) handlers[fn] = ((await import(`../../functions/${fn}.ts`)) as { handler: HttpHandler }).handler
  schedule = ((await import('../../functions/sync-schedule.ts')) as { handler: CronHandler }).handler
  repair = ((await import('../../functions/repair.ts')) as { handler: CronHandler }).handler
})

afterAll(async () => {
  vi.restoreAllMocks()
  await Promise.all([sqs?.stop(), table?.drop()])
  rmSync(dir, { recursive: true, force: true })
})

const context = { awsRequestId: 'test', getRemainingTimeInMillis: () => 29_000 } as unknown as Context
const post = async <T>(fn: string, path: string, body: unknown): Promise<T> => {
  const result = await handlers[fn]!(
    {
      version: '2.0',
      routeKey: `POST ${path}`,
      rawPath: path,
      rawQueryString: '',
      headers: { authorization: `Bearer ${AGENT_TOKEN}`, 'content-type': 'application/json' },
      requestContext: { http: { method: 'POST', path, sourceIp: '203.0.113.9' } },
      body: JSON.stringify(body),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2,
    context,
  )
  expect(result.statusCode, String(result.body)).toBe(200)
  return JSON.parse(String(result.body)) as T
}

describe('scheduled sync on the AWS handlers', () => {
  it('the SyncSchedule handler starts a run once; an agent leases it, checkpoints and finishes it', async () => {
    expect(await schedule({}, context)).toEqual({ triggered: 1 })
    expect(await schedule({}, context)).toEqual({ triggered: 0 })
    const { leases } = await post<{ leases: LeaseGrant[] }>('agent-pull', '/agent/v1/pull', { max: 1, waitSeconds: 5 })
    expect(leases[0]).toMatchObject({ recordId: 'contacts', recordType: '@sync', sync: { job: 'contacts', mode: 'incremental', counts: ZERO_COUNTS } })
    const lease = leases[0]!.lease
    const counts = { ...ZERO_COUNTS, read: 10, written: 10, pages: 1 }
    expect(await post<CheckpointResponse>('agent-checkpoint', '/agent/v1/checkpoint', { lease, progress: { checkpoint: { cursor: 5, key: 'a' }, counts } })).toEqual({ status: 'ok' })
    expect(await post('agent-ack', '/agent/v1/ack', { acks: [{ lease, outcome: 'done', sync: { checkpoint: { cursor: 7, key: 'b' }, counts } }] })).toMatchObject({ results: [{ status: 'ok' }] })
  })

  it('the Repair watchdog emits SyncWatermarkLagSeconds per job as its own EMF line', async () => {
    written = []
    await repair({}, context)
    const metrics = written.flatMap((line) => line.split('\n')).filter((line) => line.includes('"_aws"')).map((line) => JSON.parse(line) as Record<string, unknown>)
    const lag = metrics.find((metric) => 'SyncWatermarkLagSeconds' in metric)
    expect(lag).toMatchObject({ service: 'hookferry', source: 'crm', job: 'contacts', SyncWatermarkLagSeconds: expect.any(Number) })
    expect((lag!._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]!.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'source', 'job']))
    expect(metrics.find((metric) => 'SyncJobsStalled' in metric)).toMatchObject({ SyncJobsStalled: 0 })
  })
})

/**
 * The cloud half on the AWS adapters, in its own process (forked by the bench): the HTTP front of
 * `hookferry serve` (startServer) with the AWS runtime — DynamoLedger and SqsWorkQueue on the
 * emulators the bench started, through SDK clients built as in production plus a counting
 * middleware. Handlers fetch the runtime on every invocation (lib/http/http-handler.ts), so
 * installing it after startServer routes every request to the AWS adapters.
 *
 * IPC: sends `{type: 'ready', url}`; answers `{type: 'stats'}` with the invocations, their
 * durations and the AWS calls since the last `stats`.
 */
import { subscribe } from 'node:diagnostics_channel'
import { mkdtempSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { SQSClient } from '@aws-sdk/client-sqs'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { loadYamlConfig } from '../../lib/config/load-yaml.ts'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { ROUTES } from '../../lib/http/routes.ts'
import { DynamoLedger } from '../../lib/ports/aws/dynamo-ledger.ts'
import { SqsWorkQueue } from '../../lib/ports/aws/sqs-queue.ts'
import { stderrLog } from '../../lib/relay/deps.ts'
import { createAwsRuntime } from '../../lib/runtime/aws-runtime.ts'
import { linkedResource } from '../../lib/runtime/linked-resource.ts'
import { installRuntime } from '../../lib/runtime/runtime.ts'
import { compileRoute } from '../../lib/server/api-gateway-event.ts'
import { startServer } from '../../lib/server/serve.ts'
import { AwsCallCounter } from './aws-call-counter.ts'

/** Invocations of one function: how many, and what Lambda would bill (each rounded up to 1 ms). */
export interface FunctionUsage {
  invocations: number
  billedMs: number
  durationsMs: number[]
}

const counter = new AwsCallCounter()
// The same clients the adapters build by default (sqs-queue.ts, dynamo-ledger.ts), counted.
const sqs = counter.countSqs(new SQSClient({ useQueueUrlAsEndpoint: false }))
const dynamodb = DynamoDBDocumentClient.from(counter.countDynamoDb(new DynamoDBClient({})))

const config = loadYamlConfig(serverConfigSchema, process.env.HOOKFERRY_CONFIG!)
const server = await startServer({ config, dataDir: mkdtempSync(join(tmpdir(), 'hookferry-bench-aws-')), port: 0, log: stderrLog })
installRuntime({
  ...createAwsRuntime(process.env),
  ledger: new DynamoLedger({ tableName: linkedResource('Ledger', 'name'), client: dynamodb }),
  queue: new SqsWorkQueue({ queueUrl: linkedResource('Queue', 'url'), client: sqs }),
})

// Each request's duration at the HTTP front, by the function that serves it: close to the
// handler's own duration (the front only adds reading the body and building the event).
const routes = ROUTES.map((spec) => ({ fn: spec.fn, route: compileRoute(spec.route) }))
let usage = new Map<string, FunctionUsage>()
subscribe('http.server.request.start', (message) => {
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse }
  const startedAt = performance.now()
  const path = new URL(request.url ?? '/', 'http://localhost').pathname
  const fn = routes.find((entry) => entry.route.method === request.method && entry.route.match(path))?.fn ?? 'other'
  response.once('finish', () => {
    const durationMs = performance.now() - startedAt
    const entry = usage.get(fn) ?? { invocations: 0, billedMs: 0, durationsMs: [] }
    entry.invocations += 1
    entry.billedMs += Math.max(1, Math.ceil(durationMs))
    entry.durationsMs.push(durationMs)
    usage.set(fn, entry)
  })
})

process.on('message', (message: { type: string }) => {
  if (message.type !== 'stats') return
  const functions = Object.fromEntries(usage)
  usage = new Map()
  process.send!({ type: 'stats', functions, calls: counter.take() })
})
const exit = (): void => void server.close().finally(() => process.exit(0))
process.once('disconnect', exit)
process.once('SIGTERM', exit)
process.send!({ type: 'ready', url: server.url })

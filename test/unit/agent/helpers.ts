import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import type { Logger } from 'pino'
import { createAgentLogger } from '../../../lib/agent/logger.ts'
import { captureLines } from '../../support/log-capture.ts'
import type { LeaseGrant } from '../../../lib/relay/agent-api.ts'

/** One request as a test server saw it. */
export interface SeenRequest {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  body: string
}
export interface Reply {
  status?: number
  headers?: Record<string, string>
  body?: unknown
  /** Wait this long before answering (slow servers). */
  delayMs?: number
}
export type Handler = (request: SeenRequest) => Reply | Promise<Reply>

/** A real HTTP server on 127.0.0.1 and an ephemeral port, answering with `handler` and recording every request. */
export async function startTestServer(handler: Handler): Promise<{ url: string; requests: SeenRequest[]; close(): Promise<void> }> {
  const requests: SeenRequest[] = []
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const seen = { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }
      requests.push(seen)
      void Promise.resolve(handler(seen)).then(async (reply) => {
        if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs))
        const text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
        const contentType = typeof reply.body === 'string' ? 'text/plain' : 'application/json'
        if (response.destroyed) return
        response.writeHead(reply.status ?? 200, { 'content-type': contentType, ...reply.headers })
        response.end(text)
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Polls `condition` until it holds (or fails the test after `timeoutMs`). */
export async function waitUntil(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

let leaseCounter = 0
/** A lease grant as the cloud would hand it out. */
export function makeLease(overrides: Partial<LeaseGrant> = {}): LeaseGrant {
  leaseCounter += 1
  return {
    lease: `lease-${leaseCounter}`,
    requestId: `req-${leaseCounter}`,
    source: 'crm',
    recordId: '42',
    events: [{ deliveryId: `d-${leaseCounter}`, receivedAt: new Date().toISOString() }],
    eventCount: 1,
    attempt: 1,
    maxAttempts: 10,
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    mode: 'async',
    ...overrides,
  }
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'hookferry-agent-'))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** The agent's logger with its JSON lines landing in `lines` (and in `text`, raw, for redaction checks). */
export function captureLog(level = 'debug'): { logger: Logger; destination: Writable; lines: Record<string, unknown>[]; text: () => string } {
  const capture = captureLines()
  return { logger: createAgentLogger({ level, destination: capture.destination }), ...capture }
}

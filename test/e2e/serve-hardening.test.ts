import { writeFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import { spawnHookferry, type HookferryProcess } from '../support/processes.ts'
import { useTestScope, type TestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/**
 * `hookferry serve` facing clients that misbehave: oversized uploads, bodies that never end,
 * clients that hang up. The server runs as its own process: in-process, client and server share
 * one event loop, which hides the races these tests are about.
 */
const scope: TestScope = useTestScope()
const LIMIT = 4096
const OVERSIZED = 4 * 1024 * 1024

async function startServe(limits: Record<string, number> = {}): Promise<{ serve: HookferryProcess; url: URL }> {
  const dir = scope.tempDir('hookferry-hardening-')
  const configFile = join(dir, 'hookferry.yaml')
  const config = { sources: { forms: { verify: { scheme: 'token', secrets: ['form-token'] }, extract: { recordId: 'body.record' } } }, limits: { maxBodyBytes: LIMIT, ...limits } }
  writeFileSync(configFile, JSON.stringify(config)) // JSON is YAML
  const serve = spawnHookferry(scope, ['serve', '--config', configFile, '--data-dir', join(dir, 'data'), '--port', '0', '--log-level', 'debug'], { name: 'serve' })
  const ready = await serve.waitForLog('"hookferry serve is listening"', (line) => line.msg === 'hookferry serve is listening')
  return { serve, url: new URL(String(ready.agentApiUrl)) }
}

interface Exchange {
  /** Everything the server sent before the connection ended. */
  received: string
  /** The socket error, if the connection ended in one (EPIPE, ECONNRESET). */
  error?: string
  closedAfterMs: number
}

/** One request over a raw socket, written by `send`; resolves when the server ends the connection. */
function rawExchange(url: URL, send: (socket: Socket) => void): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = Date.now()
    const socket = connect(Number(url.port), url.hostname)
    let received = ''
    let error: string | undefined
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')))
    socket.on('error', (failure: NodeJS.ErrnoException) => (error = failure.code ?? failure.message))
    socket.on('close', () => resolve({ received, ...(error ? { error } : {}), closedAfterMs: Date.now() - started }))
    socket.once('connect', () => send(socket))
  })
}

const head = (lines: string[]) => `${['POST /hooks/forms HTTP/1.1', 'host: localhost', 'content-type: application/json', 'authorization: Bearer form-token', ...lines].join('\r\n')}\r\n\r\n`

/** Status code and error code of a raw HTTP/1.1 answer ("413 request.body_too_large"). */
function answerOf(received: string): string {
  const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1]
  const code = /"error":\{"code":"([^"]+)"/.exec(received)?.[1]
  return `${status ?? 'no answer'} ${code ?? 'no JSON error'}`
}

/** What a fetch of an oversized body ended with: "413 request.body_too_large", or the network error. */
async function fetchOversized(url: URL, chunked: boolean): Promise<string> {
  const payload = Buffer.alloc(OVERSIZED, 'a')
  const chunks = (function* () {
    for (let offset = 0; offset < payload.length; offset += 64 * 1024) yield payload.subarray(offset, offset + 64 * 1024)
  })()
  const stream = new ReadableStream({
    pull(controller) {
      const next = chunks.next()
      if (next.done) controller.close()
      else controller.enqueue(next.value)
    },
  })
  try {
    const response = await fetch(new URL('/hooks/forms', url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer form-token' }, body: chunked ? stream : payload, duplex: 'half' } as RequestInit)
    const { error } = (await response.json()) as { error: { code: string } }
    return `${response.status} ${error.code}`
  } catch (error) {
    return `network error: ${String((error as Error).cause ?? error)}`
  }
}

/** A client that sends its whole chunked body before it reads anything, as simple clients do. */
const writeAllChunked = (socket: Socket): void => {
  socket.write(head(['transfer-encoding: chunked']))
  const chunk = Buffer.alloc(64 * 1024, 'a')
  for (let sent = 0; sent < OVERSIZED; sent += chunk.length) socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`)
  socket.end('0\r\n\r\n')
}

const errorLines = (serve: HookferryProcess) => serve.logs.filter((line) => line.level >= 50)

describe('hookferry serve: bodies over the limit', () => {
  it('answers every one of 60 concurrent oversized uploads (declared, chunked, write-all-first) with the 413 JSON error', async () => {
    const { serve, url } = await startServe()
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, () => fetchOversized(url, false)),
      ...Array.from({ length: 20 }, () => fetchOversized(url, true)),
      ...Array.from({ length: 20 }, async () => answerOf((await rawExchange(url, writeAllChunked)).received)),
    ])
    const tally: Record<string, number> = {}
    for (const answer of answers) tally[answer] = (tally[answer] ?? 0) + 1
    expect(tally).toEqual({ '413 request.body_too_large': 60 })
    expect(errorLines(serve)).toEqual([])
  })

  it('refuses a declared oversized body sent with "Expect: 100-continue" before the client sends it', async () => {
    const { url } = await startServe()
    // The body is never sent: the 413 must come without it, and without a "100 Continue" first.
    const refused = await rawExchange(url, (socket) => socket.write(head([`content-length: ${OVERSIZED}`, 'expect: 100-continue'])))
    expect(refused.received).toMatch(/^HTTP\/1\.1 413 /)
    expect(answerOf(refused.received)).toBe('413 request.body_too_large')
    expect(refused.received).toMatch(/\r\nconnection: close\r\n/i)

    const body = JSON.stringify({ record: 'r-1' })
    const accepted = await rawExchange(url, (socket) => {
      socket.write(head([`content-length: ${body.length}`, 'expect: 100-continue', 'connection: close']))
      socket.once('data', () => socket.write(body))
    })
    expect(accepted.received).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 202 /)
  })

  it('keeps the connection usable after a 413 whose body it read to the end', async () => {
    const { url } = await startServe()
    const body = JSON.stringify({ record: 'r-2' })
    const exchange = await rawExchange(url, (socket) => {
      socket.write(head([`content-length: ${LIMIT * 4}`]) + 'a'.repeat(LIMIT * 4))
      socket.write(head([`content-length: ${body.length}`, 'connection: close']) + body)
    })
    expect(exchange.received.match(/^HTTP\/1\.1 \d{3}/gm)).toEqual(['HTTP/1.1 413', 'HTTP/1.1 202'])
  })
})

describe('hookferry serve: clients that never finish', () => {
  it('refuses a headersTimeoutMs longer than requestTimeoutMs, naming the key', () => {
    const parse = (limits: Record<string, number>) => () => parseWithSchema(serverConfigSchema, { sources: {}, limits }, 'hookferry.yaml')
    expect(parse({ requestTimeoutMs: 5_000, headersTimeoutMs: 6_000 })).toThrow('hookferry.yaml: limits.headersTimeoutMs: headersTimeoutMs must not exceed requestTimeoutMs')
    // Unset, the headers timeout follows a shorter request timeout instead of refusing it.
    expect(parse({ requestTimeoutMs: 5_000 })).not.toThrow()
  })

  it('cuts off a client that sends half its body or half its headers within limits.requestTimeoutMs, with a 408 JSON error', async () => {
    const { serve, url } = await startServe({ requestTimeoutMs: 1_000 })
    const [halfBody, halfHeaders] = await Promise.all([
      rawExchange(url, (socket) => socket.write(`${head(['content-length: 100'])}{"record":`)),
      rawExchange(url, (socket) => socket.write('POST /hooks/forms HTTP/1.1\r\nhost: localhost\r\n')),
    ])
    for (const cut of [halfBody, halfHeaders]) {
      expect(answerOf(cut.received)).toBe('408 request.timeout')
      expect(cut.closedAfterMs).toBeGreaterThanOrEqual(900)
      // Node checks every 250 ms here; the rest is slack for a loaded machine (the default would be 30 s, Node's own 300 s).
      expect(cut.closedAfterMs).toBeLessThan(4_000)
    }
    await serve.waitForLog('a debug line for the cut-off client', (line) => line.level === 20 && line.msg === 'client connection failed' && line.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    expect(errorLines(serve)).toEqual([])
  })

  it('answers a request that is not HTTP with a 400 JSON error and closes the connection', async () => {
    const { serve, url } = await startServe()
    const garbage = await rawExchange(url, (socket) => socket.write('HELLO THERE\r\n\r\n'))
    expect(answerOf(garbage.received)).toBe('400 request.malformed')
    expect(errorLines(serve)).toEqual([])
  })

  it('logs a client that hangs up mid-body as one debug line, never an error', async () => {
    const { serve, url } = await startServe()
    const hangUp = (path: string) =>
      rawExchange(url, (socket) => {
        socket.write(head(['content-length: 1000']).replace('/hooks/forms', path) + '{"record":')
        setTimeout(() => socket.destroy(), 50)
      })
    // An unauthenticated agent call as well as a webhook: neither may be logged as the server's failure.
    await Promise.all(Array.from({ length: 10 }, (_, index) => hangUp(index % 2 === 0 ? '/hooks/forms' : '/agent/v1/pull')))
    const gone = await eventually('ten debug lines for the clients that hung up', () => {
      const lines = serve.logsWith('client went away before its request body was complete')
      return lines.length === 10 && lines
    })
    expect(gone.every((line) => line.level === 20)).toBe(true)
    expect(errorLines(serve)).toEqual([])
  })
})

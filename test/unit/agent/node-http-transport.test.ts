import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { gzipSync, brotliCompressSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpClient } from '../../../lib/agent/http-client.ts'
import { isAgentError } from '../../../lib/agent/errors.ts'
import { NodeHttpTransport } from '../../../lib/agent/node-http-transport.ts'
import { startTestServer } from './helpers.ts'

const closers: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

async function server(handler: Parameters<typeof startTestServer>[0]): Promise<Awaited<ReturnType<typeof startTestServer>>> {
  const started = await startTestServer(handler)
  closers.push(() => started.close())
  return started
}

function transport(): NodeHttpTransport {
  const created = new NodeHttpTransport()
  closers.push(() => created.close())
  return created
}

const signal = (): AbortSignal => AbortSignal.timeout(5_000)

/** Listens on an ephemeral loopback port, closed (with its connections) after the test; returns its base URL. */
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

describe('node:http transport', () => {
  it('sends method, headers and body, and reads status, headers and text', async () => {
    const target = await server((seen) => ({ status: 201, headers: { 'x-answer': 'yes' }, body: { echoed: seen.body, method: seen.method, auth: seen.headers.authorization, length: seen.headers['content-length'] } }))
    const body = JSON.stringify({ name: 'Zoë' })
    const response = await transport().send({ url: `${target.url}/x?y=1`, method: 'PUT', headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' }, body, signal: signal() })
    expect(response.status).toBe(201)
    expect(response.headers['x-answer']).toBe('yes')
    expect(JSON.parse(response.text)).toEqual({ echoed: body, method: 'PUT', auth: 'Bearer t', length: String(Buffer.byteLength(body)) })
    expect(target.requests[0]!.url).toBe('/x?y=1')
  })

  it('reuses one keep-alive connection for sequential requests', async () => {
    const counting = await countingServer()
    const http = transport()
    for (let index = 0; index < 5; index += 1) expect((await http.send({ url: counting.url, method: 'GET', headers: {}, signal: signal() })).status).toBe(200)
    expect(counting.connections()).toBe(1)
  })

  it('decodes gzip and br bodies and asks for them', async () => {
    const plain = JSON.stringify({ id: 'cus_1', note: 'ü'.repeat(500) })
    const raw = await rawServer((url, accept) => {
      const encoding = url === '/gzip' ? 'gzip' : 'br'
      return { accept, encoding, body: encoding === 'gzip' ? gzipSync(plain) : brotliCompressSync(plain) }
    })
    for (const path of ['/gzip', '/br']) {
      const response = await transport().send({ url: `${raw.url}${path}`, method: 'GET', headers: {}, signal: signal() })
      expect(response.text).toBe(plain)
    }
    expect(raw.accepts).toEqual(['gzip, deflate, br', 'gzip, deflate, br'])
  })

  it('follows redirects as fetch does: 303 becomes GET without a body, 307 keeps method and body', async () => {
    const target = await server((seen) => {
      if (seen.url === '/see-other') return { status: 303, headers: { location: '/landed' } }
      if (seen.url === '/temporary') return { status: 307, headers: { location: '/kept' } }
      return { body: { method: seen.method, body: seen.body, type: seen.headers['content-type'] ?? null } }
    })
    const http = transport()
    const seeOther = await http.send({ url: `${target.url}/see-other`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}', signal: signal() })
    expect(JSON.parse(seeOther.text)).toEqual({ method: 'GET', body: '', type: null })
    const temporary = await http.send({ url: `${target.url}/temporary`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}', signal: signal() })
    expect(JSON.parse(temporary.text)).toEqual({ method: 'POST', body: '{"a":1}', type: 'application/json' })
  })

  it('drops Authorization when a redirect leaves the origin, keeps it within the origin', async () => {
    const other = await server((seen) => ({ body: { auth: seen.headers.authorization ?? null } }))
    const target = await server((seen) => {
      if (seen.url === '/away') return { status: 302, headers: { location: `${other.url}/there` } }
      if (seen.url === '/near') return { status: 301, headers: { location: '/here' } }
      return { body: { auth: seen.headers.authorization ?? null } }
    })
    const http = transport()
    const away = await http.send({ url: `${target.url}/away`, method: 'GET', headers: { authorization: 'Bearer secret' }, signal: signal() })
    expect(JSON.parse(away.text)).toEqual({ auth: null })
    const near = await http.send({ url: `${target.url}/near`, method: 'GET', headers: { authorization: 'Bearer secret' }, signal: signal() })
    expect(JSON.parse(near.text)).toEqual({ auth: 'Bearer secret' })
  })

  it('gives up after 20 redirects', async () => {
    const target = await server(() => ({ status: 302, headers: { location: '/again' } }))
    await expect(transport().send({ url: `${target.url}/start`, method: 'GET', headers: {}, signal: signal() })).rejects.toThrow('more than 20 redirects')
    expect(target.requests).toHaveLength(21)
  })

  it('sends again, once, a request whose pooled connection the server had closed', async () => {
    // A server that answers, then closes every idle connection without telling the client first.
    const seen: string[] = []
    const sockets = new Set<Socket>()
    const flaky: Server = createServer((request, response) => {
      seen.push(request.url ?? '')
      response.end('ok')
    })
    flaky.keepAliveTimeout = 60_000
    flaky.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    const url = await listen(flaky)
    const http = transport()
    expect((await http.send({ url: `${url}/1`, method: 'GET', headers: {}, signal: signal() })).text).toBe('ok')
    // Reset the idle socket from the server side: the client's next write on it fails.
    for (const socket of sockets) socket.resetAndDestroy()
    expect((await http.send({ url: `${url}/2`, method: 'POST', headers: {}, body: 'x', signal: signal() })).text).toBe('ok')
    expect(seen).toEqual(['/1', '/2'])
  })

  it('aborts through the signal', async () => {
    const target = await server(() => ({ delayMs: 2_000, body: {} }))
    const controller = new AbortController()
    const sending = transport().send({ url: `${target.url}/slow`, method: 'GET', headers: {}, signal: controller.signal })
    setTimeout(() => controller.abort(), 50)
    await expect(sending).rejects.toThrow()
  })
})

describe('HttpClient on node:http', () => {
  it('reports a refused connection as a retryable outage naming the call and the code', async () => {
    const target = await server(() => ({ body: {} }))
    const url = `${target.url}/api?token=secret`
    await target.close()
    const client = new HttpClient()
    closers.push(() => client.close())
    const error = await client.request({ what: 'fetch', url, method: 'GET', timeoutMs: 2_000 }).catch((caught: unknown) => caught)
    expect(isAgentError(error) && error.retryable).toBe(true)
    expect((error as Error).message).toMatch(/^fetch: GET http:\/\/127\.0\.0\.1:\d+\/api failed: ECONNREFUSED$/)
  })

  it('reports a timeout as one', async () => {
    const target = await server(() => ({ delayMs: 1_000, body: {} }))
    const client = new HttpClient()
    closers.push(() => client.close())
    await expect(client.request({ what: 'deliver', url: `${target.url}/slow`, method: 'GET', timeoutMs: 100 })).rejects.toThrow(/deliver: GET .*\/slow timed out after 100 ms/)
  })
})

/** A server that counts the TCP connections it accepted. */
async function countingServer(): Promise<{ url: string; connections: () => number }> {
  let connections = 0
  const counting = createServer((_request, response) => response.end('{}'))
  counting.on('connection', () => (connections += 1))
  return { url: `${await listen(counting)}/`, connections: () => connections }
}

/** A server answering raw bytes with a content-encoding, recording the accept-encoding it was sent. */
async function rawServer(answer: (url: string, accept: string) => { accept: string; encoding: string; body: Buffer }): Promise<{ url: string; accepts: string[] }> {
  const accepts: string[] = []
  const raw = createServer((request, response) => {
    const { accept, encoding, body } = answer(request.url ?? '', String(request.headers['accept-encoding']))
    accepts.push(accept)
    response.writeHead(200, { 'content-encoding': encoding, 'content-type': 'application/json' })
    response.end(body)
  })
  return { url: await listen(raw), accepts }
}

import { createServer, request as forward } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HttpClient } from '../../../lib/agent/http-client.ts'
import { startTestServer } from './helpers.ts'

/** A forward proxy (absolute-form requests and CONNECT tunnels) that records the hosts it was asked for. */
async function startProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = []
  const server = createServer((request, response) => {
    const target = new URL(request.url ?? '')
    tunnels.push(target.host)
    const upstream = forward(target, { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(response)
    })
    upstream.on('error', () => response.writeHead(502).end())
    request.pipe(upstream)
  })
  server.on('connect', (request, clientSocket, head) => {
    tunnels.push(request.url ?? '')
    const [host, port] = (request.url ?? '').split(':')
    const upstream = connect(Number(port), host, () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(clientSocket)
      clientSocket.pipe(upstream)
    })
    upstream.on('error', () => clientSocket.destroy())
    clientSocket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY }
let proxy: Awaited<ReturnType<typeof startProxy>>
let target: Awaited<ReturnType<typeof startTestServer>>
const clients: HttpClient[] = []

beforeAll(async () => {
  proxy = await startProxy()
  target = await startTestServer(() => ({ body: { ok: true } }))
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  proxy.tunnels.length = 0
})
afterAll(async () => {
  await Promise.all([proxy.close(), target.close()])
})

function client(): HttpClient {
  const created = new HttpClient()
  clients.push(created)
  return created
}

describe('outbound HTTP', () => {
  it('goes through the proxy named by HTTP_PROXY', async () => {
    process.env.HTTP_PROXY = proxy.url
    delete process.env.NO_PROXY
    const response = await client().request({ what: 'test', url: `${target.url}/x`, method: 'GET', timeoutMs: 2_000 })
    expect(response.status).toBe(200)
    expect(proxy.tunnels).toEqual([target.url.replace('http://', '')])
  })

  it('goes direct to hosts listed in NO_PROXY', async () => {
    process.env.HTTP_PROXY = proxy.url
    process.env.NO_PROXY = '127.0.0.1'
    const response = await client().request({ what: 'test', url: `${target.url}/x`, method: 'GET', timeoutMs: 2_000 })
    expect(response.status).toBe(200)
    expect(proxy.tunnels).toEqual([])
  })
})

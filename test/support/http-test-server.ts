import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request as a test server received it. */
export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** Parsed when JSON, else the text ('' for none). */
  body: unknown
  /** When it arrived (epoch ms). */
  at: number
}

/** How to answer. */
export interface Reply {
  status: number
  headers?: Record<string, string>
  /** Objects are sent as JSON. */
  body?: unknown
  /** Answer only after this long (a slow server). */
  delayMs?: number
}

export interface HttpTestServer {
  url: string
  /** Stops listening and cuts open connections: clients now get ECONNREFUSED. */
  refuseConnections(): Promise<void>
  /** Listens again on the same port. */
  acceptConnections(): Promise<void>
  close(): Promise<void>
}

/**
 * A real HTTP server on 127.0.0.1 and an ephemeral port. `handle` decides each answer; `answered`
 * is told the status once it went out (not for a client that went away before).
 */
export async function startHttpTestServer(
  handle: (request: ReceivedRequest) => Reply,
  answered: (request: ReceivedRequest, status: number) => void = () => undefined,
): Promise<HttpTestServer> {
  const timers = new Set<NodeJS.Timeout>()
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const received: ReceivedRequest = {
        method: request.method ?? 'GET',
        path: request.url ?? '/',
        headers: request.headers,
        body: /\bjson\b/.test(request.headers['content-type'] ?? '') ? parseJson(text) : text,
        at: Date.now(),
      }
      const reply = handle(received)
      const send = () => {
        if (response.destroyed) return
        writeReply(response, reply)
        response.once('finish', () => answered(received, reply.status))
      }
      if (!reply.delayMs) return send()
      const timer = setTimeout(() => {
        timers.delete(timer)
        send()
      }, reply.delayMs)
      timers.add(timer)
    })
  })
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve()
      server.close(() => resolve())
      server.closeAllConnections()
    })

  await listen(0)
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    refuseConnections: stop,
    acceptConnections: () => listen(port),
    async close() {
      for (const timer of timers) clearTimeout(timer)
      await stop()
    },
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function writeReply(response: ServerResponse, reply: Reply): void {
  const text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
  const contentType = typeof reply.body === 'string' ? 'text/plain' : 'application/json'
  response.writeHead(reply.status, { ...(reply.body === undefined ? {} : { 'content-type': contentType }), ...reply.headers })
  response.end(text)
}

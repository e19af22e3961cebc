import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SinkDelivery {
  idempotencyKey: string | undefined
  body: Record<string, unknown>
}

/** The demo's "on-prem system": an HTTP endpoint that stores what the agent delivers. */
export async function startDemoSink({ onDelivery, port = 0 }: { onDelivery: (delivery: SinkDelivery, duplicate: boolean) => void; port?: number }): Promise<{ url: string; received: SinkDelivery[]; close(): Promise<void> }> {
  const received: SinkDelivery[] = []
  const seenKeys = new Set<string>()
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      let body: Record<string, unknown>
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>
      } catch {
        response.writeHead(400).end()
        return
      }
      const key = request.headers['idempotency-key'] as string | undefined
      const duplicate = key !== undefined && seenKeys.has(key)
      if (key) seenKeys.add(key)
      const delivery = { idempotencyKey: key, body }
      if (!duplicate) received.push(delivery)
      onDelivery(delivery, duplicate)
      const id = typeof body.id === 'string' ? body.id : 'unknown'
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ onPremId: `ONPREM-${id.toUpperCase()}`, duplicate }))
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AgentMetrics } from './metrics.ts'

export interface HealthStatus {
  ok: boolean
  /** Why not ok (or what is fine), shown in the /healthz body. */
  reason: string
}

export interface HealthServer {
  url: string
  close(): Promise<void>
}

/**
 * The agent's local HTTP endpoint for probes and scraping: `GET /healthz` (200 when the cloud
 * answered recently, else 503 with the reason) and `GET /metrics` (Prometheus text). It binds
 * to localhost by default and serves nothing else.
 */
export async function startHealthServer(options: { host: string; port: number; health: () => HealthStatus; metrics: AgentMetrics }): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end()
    } else if (path === '/healthz') {
      const status = options.health()
      response.writeHead(status.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      response.end(JSON.stringify({ status: status.ok ? 'ok' : 'unhealthy', reason: status.reason }))
    } else if (path === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' })
      response.end(options.metrics.render())
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

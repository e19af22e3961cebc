import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { AckItem, AckResponse, CheckpointRequest, CheckpointResponse, ExtendRequest, HeartbeatRequest, LeaseGrant, PullRequest } from '../../../lib/relay/agent-api.ts'
import { makeLease } from './helpers.ts'

export interface FakeCloud {
  url: string
  token: string
  /** Every call, in order, with its parsed body. */
  pulls: PullRequest[]
  acks: AckItem[]
  extends: ExtendRequest['leases']
  heartbeats: HeartbeatRequest[]
  /** Sync runs' checkpoints, with when each arrived (epoch ms). */
  checkpoints: (CheckpointRequest & { receivedAt: number })[]
  /** What checkpoints answer (default ok); `lease_lost` tells the run to stop. */
  checkpointStatus: CheckpointResponse['status']
  /** Queues a request; the next pull hands it out. Returns the grant. */
  enqueue(overrides?: Partial<LeaseGrant>): LeaseGrant
  /** Answer every call with this status and an error body until set back to undefined (e.g. 503 with Retry-After). */
  failWith(failure: { status: number; code: string; retryAfter?: string } | undefined): void
  /** The acks of one lease. */
  acksOf(lease: string): AckItem[]
  close(): Promise<void>
}

/**
 * A small in-memory Agent API v1 (POST /agent/v1/pull | ack | extend | checkpoint | heartbeat) on a real
 * HTTP server: bearer-token check, long-polled pulls (with acks riding on them), and a record of every call.
 */
export async function startFakeCloud(options: { token?: string; acksOnPull?: boolean } = {}): Promise<FakeCloud> {
  const token = options.token ?? 'agent-token-secret-123'
  /** false: an older cloud that ignores acks riding on a pull (it drops unknown fields). */
  const acksOnPull = options.acksOnPull ?? true
  const queue: LeaseGrant[] = []
  const waiting = new Set<() => void>()
  let failure: { status: number; code: string; retryAfter?: string } | undefined
  const cloud = {
    pulls: [] as PullRequest[],
    acks: [] as AckItem[],
    extends: [] as ExtendRequest['leases'],
    heartbeats: [] as HeartbeatRequest[],
    checkpoints: [] as (CheckpointRequest & { receivedAt: number })[],
  }
  let checkpointStatus: CheckpointResponse['status'] = 'ok'

  const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (response.destroyed) return
    response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
  }

  const pull = async (request: PullRequest, response: ServerResponse, closed: () => boolean, acks: AckResponse['results'] | undefined) => {
    const deadline = Date.now() + request.waitSeconds * 1000
    while (queue.length === 0 && Date.now() < deadline && !closed()) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiting.delete(wake)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(wake, Math.max(0, deadline - Date.now()))
        waiting.add(wake)
      })
    }
    send(response, 200, { leases: queue.splice(0, request.max ?? 10), ...(acks ? { acks } : {}) })
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      let closed = false
      response.on('close', () => (closed = true))
      if (failure) {
        send(response, failure.status, { error: { code: failure.code, message: `fake cloud says ${failure.code}` } }, failure.retryAfter ? { 'retry-after': failure.retryAfter } : {})
        return
      }
      if (request.headers.authorization !== `Bearer ${token}`) {
        send(response, 401, { error: { code: 'agent.unauthorized', message: 'invalid agent token' } })
        return
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>
      switch (request.url) {
        case '/agent/v1/pull': {
          cloud.pulls.push(body as PullRequest)
          const riding = (body.acks as AckItem[] | undefined) ?? []
          // As the real cloud: acks riding on a pull are recorded first, their results answered with the leases.
          if (acksOnPull) cloud.acks.push(...riding)
          const results = acksOnPull && riding.length > 0 ? riding.map((ack) => ({ lease: ack.lease, status: 'ok' as const })) : undefined
          void pull({ max: 10, waitSeconds: 20, ...body } as PullRequest, response, () => closed, results)
          return
        }
        case '/agent/v1/ack': {
          const acks = body.acks as AckItem[]
          cloud.acks.push(...acks)
          send(response, 200, { results: acks.map((ack) => ({ lease: ack.lease, status: 'ok' })) })
          return
        }
        case '/agent/v1/extend': {
          const leases = body.leases as ExtendRequest['leases']
          cloud.extends.push(...leases)
          send(response, 200, { results: leases.map((item) => ({ lease: item.lease, status: 'ok', leaseExpiresAt: new Date(Date.now() + item.seconds * 1000).toISOString() })) })
          return
        }
        case '/agent/v1/checkpoint':
          cloud.checkpoints.push({ ...(body as unknown as CheckpointRequest), receivedAt: Date.now() })
          send(response, 200, { status: checkpointStatus })
          return
        case '/agent/v1/heartbeat':
          cloud.heartbeats.push(body as unknown as HeartbeatRequest)
          send(response, 200, { agentId: 'test-agent', serverTime: new Date().toISOString() })
          return
        default:
          send(response, 404, { error: { code: 'not_found', message: 'no such route' } })
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    ...cloud,
    get checkpointStatus() {
      return checkpointStatus
    },
    set checkpointStatus(status) {
      checkpointStatus = status
    },
    enqueue(overrides = {}) {
      const grant = makeLease(overrides)
      queue.push(grant)
      for (const wake of [...waiting]) wake()
      return grant
    },
    failWith(next) {
      failure = next
    },
    acksOf: (lease) => cloud.acks.filter((ack) => ack.lease === lease),
    close: () =>
      new Promise<void>((resolve) => {
        for (const wake of [...waiting]) wake()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A customer in the demo SaaS: what the agent fetches by id. */
export interface DemoCustomer {
  id: string
  name: string
  email: string
  plan: string
  version: number
  updated_at: string
  external_id?: string
}

export interface DemoSaas {
  url: string
  customers: Map<string, DemoCustomer>
  /** Changes a customer as a user of the SaaS would, and returns it. */
  update(id: string, changes: Partial<Omit<DemoCustomer, 'id' | 'version' | 'updated_at'>>): DemoCustomer
  close(): Promise<void>
}

const SEED: Omit<DemoCustomer, 'version' | 'updated_at'>[] = [
  { id: 'cus_1', name: 'Ada Lovelace', email: 'ada@example.com', plan: 'starter' },
  { id: 'cus_2', name: 'Grace Hopper', email: 'grace@example.com', plan: 'pro' },
  { id: 'cus_3', name: 'Alan Turing', email: 'alan@example.com', plan: 'starter' },
]

/** Customers changed after `(updatedAfter, afterId)` in `(updated_at, id)` order, at most `limit`: a keyset page. */
export function changedSince(customers: Iterable<DemoCustomer>, updatedAfter: string, afterId: string, limit: number): DemoCustomer[] {
  const position = (customer: DemoCustomer) => [customer.updated_at, customer.id] as const
  const after = (customer: DemoCustomer) => {
    const [at, id] = position(customer)
    return updatedAfter === '' || at > updatedAfter || (at === updatedAfter && id > afterId)
  }
  return [...customers]
    .filter(after)
    .sort((a, b) => (a.updated_at === b.updated_at ? (a.id < b.id ? -1 : 1) : a.updated_at < b.updated_at ? -1 : 1))
    .slice(0, limit)
}

/**
 * The demo's stand-in for a SaaS API: GET /api/customers/:id (bearer token), PATCH to write back,
 * and GET /api/customers?updated_after=&after_id=&limit= listing what changed (for the scheduled
 * sync). Every change — a user's or a write-back — bumps the version and calls `onChange`, as
 * real SaaS webhooks do; that is what loop prevention has to catch.
 */
export async function startDemoSaas({ apiToken, onChange, port = 0 }: { apiToken: string; onChange: (customer: DemoCustomer, via: 'user' | 'write-back') => void; port?: number }): Promise<DemoSaas> {
  const customers = new Map<string, DemoCustomer>(SEED.map((seed) => [seed.id, { ...seed, version: 1, updated_at: new Date().toISOString() }]))
  const bump = (customer: DemoCustomer, changes: Partial<DemoCustomer>): DemoCustomer => {
    const next = { ...customer, ...changes, id: customer.id, version: customer.version + 1, updated_at: new Date().toISOString() }
    customers.set(next.id, next)
    return next
  }
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(JSON.stringify(body))
    }
    if (request.headers.authorization !== `Bearer ${apiToken}`) return send(401, { error: 'invalid api token' })
    const url = new URL(request.url ?? '/', 'http://x')
    if (url.pathname === '/api/customers' && request.method === 'GET') {
      const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 100) || 100, 1), 1000)
      return send(200, { data: changedSince(customers.values(), url.searchParams.get('updated_after') ?? '', url.searchParams.get('after_id') ?? '', limit) })
    }
    const match = /^\/api\/customers\/([^/]+)$/.exec(url.pathname)
    const customer = match ? customers.get(decodeURIComponent(match[1]!)) : undefined
    if (!customer) return send(404, { error: 'no such customer' })
    if (request.method === 'GET') return send(200, customer)
    if (request.method !== 'PATCH') return send(405, { error: 'method not allowed' })
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      let changes: Partial<DemoCustomer>
      try {
        changes = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Partial<DemoCustomer>
      } catch {
        return send(400, { error: 'invalid json' })
      }
      const updated = bump(customer, changes)
      send(200, updated)
      onChange(updated, 'write-back')
    })
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    customers,
    update: (id, changes) => {
      const customer = customers.get(id)
      if (!customer) throw new Error(`no customer ${id}`)
      const updated = bump(customer, changes)
      onChange(updated, 'user')
      return updated
    },
    close: () => new Promise((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}

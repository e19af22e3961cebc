import { randomUUID } from 'node:crypto'
import { serverConfigSchema, type ServerConfig } from '../../../lib/config/server-config.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import { openDatabase } from '../../../lib/ports/local/open-database.ts'
import { SqliteLedger } from '../../../lib/ports/local/sqlite-ledger.ts'
import { SqliteWorkQueue } from '../../../lib/ports/local/sqlite-queue.ts'
import type { LeaseGrant } from '../../../lib/relay/agent-api.ts'
import { ackLeases, pullLeases } from '../../../lib/relay/agent-service.ts'
import type { Log, Metrics, RelayDeps } from '../../../lib/relay/deps.ts'
import { ingestWebhook } from '../../../lib/relay/ingest.ts'

export const AGENT = 'onprem-1'

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error'
  message: string
  fields?: Record<string, unknown>
}

export interface RelayFixture {
  deps: RelayDeps
  /** Sets the relay's clock (the queue keeps real time, so messages stay receivable). */
  setNow(time: Date): void
  logs: LogLine[]
  gauges: Map<string, number>
  counts: Map<string, number>
  /** Posts a webhook for each record id to `source` (a JSON body {"id": ...}). */
  ingest(source: string, ...recordIds: string[]): Promise<void>
  /** Pulls until `count` leases came (or none is left). */
  pull(count: number): Promise<LeaseGrant[]>
  ack(leases: readonly LeaseGrant[], outcome: 'done' | 'fail'): Promise<void>
  /** Ingests, pulls and fails each record: dead letters. Returns their request ids by record id. */
  deadLetter(source: string, ...recordIds: string[]): Promise<Map<string, string>>
  close(): void
}

/** Config with two unsigned test sources, an agent and admin token hashes. */
export function testConfig(overrides: Record<string, unknown> = {}): ServerConfig {
  const source = { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id', event: 'body.type' }, maxAttempts: 3 }
  return parseWithSchema(serverConfigSchema, { sources: { shop: source, crm: source }, ...overrides }, 'test config')
}

/** The relay core on the local SQLite adapters (in memory), with a settable clock and recorded logs and metrics. */
export function createRelayFixture(config: ServerConfig = testConfig()): RelayFixture {
  const db = openDatabase(':memory:')
  let now = new Date()
  const logs: LogLine[] = []
  const gauges = new Map<string, number>()
  const counts = new Map<string, number>()
  const record = (level: LogLine['level']) => (message: string, fields?: Record<string, unknown>) => void logs.push({ level, message, ...(fields ? { fields } : {}) })
  const log: Log = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }
  const metrics: Metrics = { count: (name, value = 1) => void counts.set(name, (counts.get(name) ?? 0) + value), gauge: (name, value) => void gauges.set(name, value) }
  const deps: RelayDeps = {
    config,
    ledger: new SqliteLedger({ db }),
    queue: new SqliteWorkQueue({ db, queueName: `work-${randomUUID()}` }),
    log,
    metrics,
    now: () => now,
    newId: randomUUID,
    random: () => 0.5,
  }
  const fixture: RelayFixture = {
    deps,
    logs,
    gauges,
    counts,
    setNow: (time) => {
      now = time
    },
    ingest: async (source, ...recordIds) => {
      for (const id of recordIds) {
        const reply = await ingestWebhook(deps, { source, headers: { 'content-type': 'application/json' }, query: {}, rawBody: Buffer.from(JSON.stringify({ id, type: 'customer.updated', nonce: randomUUID() })) })
        if (reply.statusCode !== 202) throw new Error(`ingest answered ${reply.statusCode}: ${reply.body}`)
      }
    },
    pull: async (count) => {
      const leases: LeaseGrant[] = []
      while (leases.length < count) {
        const { leases: granted } = await pullLeases(deps, AGENT, { max: Math.min(10, count - leases.length), waitSeconds: 0 })
        if (granted.length === 0) break
        leases.push(...granted)
      }
      return leases
    },
    ack: async (leases, outcome) => {
      if (leases.length === 0) return
      const acks = leases.map((grant) => (outcome === 'done' ? { lease: grant.lease, outcome } : { lease: grant.lease, outcome, error: { code: 'sink.unavailable', message: 'connection refused' } }))
      const { results } = await ackLeases(deps, AGENT, acks)
      const bad = results.filter((result) => result.status !== 'ok' && result.status !== 'dead_lettered')
      if (bad.length > 0) throw new Error(`acks not recorded: ${JSON.stringify(bad)}`)
    },
    deadLetter: async (source, ...recordIds) => {
      await fixture.ingest(source, ...recordIds)
      const leases = await fixture.pull(recordIds.length)
      await fixture.ack(leases, 'fail')
      return new Map(leases.map((grant) => [grant.recordId, grant.requestId]))
    },
    close: () => db.close(),
  }
  return fixture
}

import { randomUUID } from 'node:crypto'
import type { ServerConfig } from '../../lib/config/server-config.ts'
import { noMetrics, silentLog, type RelayDeps } from '../../lib/relay/deps.ts'
import { type TestClock, ledgerFamilies } from './ledger-families.ts'
import { queueFamilies } from './queue-families.ts'

/** The relay core over one runtime's ledger and queue, on the ledger's test clock. */
export interface RelayHarness {
  deps: RelayDeps
  /** Moves the relay's and the ledger's time (leases, grace periods); the queue keeps real time. */
  clock: TestClock
  close(): Promise<void>
}

export interface RelayFamily {
  name: string
  create(config: ServerConfig): Promise<RelayHarness>
}

const runtimeOf = (familyName: string) => familyName.split(' ')[0]

/** One family per runtime: DynamoDB Local + SQS on fauxqs, and SQLite + SQLite. */
export const relayFamilies: RelayFamily[] = ledgerFamilies.map((ledgerFamily) => {
  const queueFamily = queueFamilies.find((family) => runtimeOf(family.name) === runtimeOf(ledgerFamily.name))
  if (!queueFamily) throw new Error(`no queue family for the ledger family ${ledgerFamily.name}`)
  return {
    name: `${ledgerFamily.name} + ${queueFamily.name}`,
    create: async (config) => {
      const [ledger, queue] = await Promise.all([ledgerFamily.create(), queueFamily.create()])
      return {
        deps: { config, ledger: ledger.ledger, queue: queue.queue, log: silentLog, metrics: noMetrics, now: ledger.clock.now, newId: randomUUID, random: Math.random },
        clock: ledger.clock,
        close: async () => {
          await Promise.all([ledger.close(), queue.close()])
        },
      }
    },
  }
})

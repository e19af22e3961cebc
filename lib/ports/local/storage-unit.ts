import type { StorageUnit } from '../../relay/deps.ts'
import { CommitUnit } from './commit-group.ts'
import type { SqliteLedger } from './sqlite-ledger.ts'
import type { SqliteWorkQueue } from './sqlite-queue.ts'

/**
 * The embedded StorageUnit: the runtime's own ledger and queue, each call made as part of one
 * CommitUnit, so a webhook's calls share one commit and answer at once; `durable()` waits for it.
 * Long polls stay outside any unit: they answer only after the commit that holds their leases.
 */
export function sqliteStorageUnit(ledger: SqliteLedger, queue: SqliteWorkQueue): StorageUnit {
  const unit = new CommitUnit()
  return {
    ledger: {
      mutateRecord: (recordKey, requestIds, decide) => ledger.mutateRecord(recordKey, requestIds, decide, unit),
      markSent: (requestId, sentAt) => ledger.markSent(requestId, sentAt, unit),
      getRequest: (id) => ledger.getRequest(id, unit),
      getRecord: (recordKey) => ledger.getRecord(recordKey, unit),
      listRequests: (query) => ledger.listRequests(query),
      hasDelivery: (source, deliveryId) => ledger.hasDelivery(source, deliveryId, unit),
      rememberDelivery: (source, deliveryId, ttlSeconds) => ledger.rememberDelivery(source, deliveryId, ttlSeconds, unit),
      recordHeartbeat: (status) => ledger.recordHeartbeat(status),
      listAgents: () => ledger.listAgents(),
    },
    queue: {
      send: (entries) => queue.send(entries, unit),
      receive: (options) => queue.receive(options),
      delete: (receipt) => queue.delete(receipt),
      changeVisibility: (receipt, visibilitySeconds) => queue.changeVisibility(receipt, visibilitySeconds),
    },
    durable: () => unit.durable(),
  }
}

import type { ListConfig } from '../../sync/sync-config.ts'
import type { Authenticator } from '../auth.ts'
import type { Connector } from '../connector.ts'
import { createHttpList } from './http-list.ts'
import type { ListConnector } from './list-connector.ts'
import { createSqlList } from './sql-list.ts'

export interface ListDeps {
  /** The fetch's authenticator (the list reads the same API). */
  auth: Authenticator
  /** The source's fetch connector (detail fetches, resends). */
  fetch: Connector
  /** Config key of the block (e.g. `sources.crm.list`), for messages. */
  key: string
  now?: () => number
  retryBaseDelaySeconds?: number
}

/** The list connector for a source's `list` block. Add a case here to add a kind of list. */
export function createListConnector(config: ListConfig, deps: ListDeps): ListConnector {
  switch (config.type) {
    case 'http':
      return createHttpList(config, { ...deps, recordType: config.recordType })
    case 'postgres':
    case 'mysql':
      return createSqlList(config, deps)
  }
}

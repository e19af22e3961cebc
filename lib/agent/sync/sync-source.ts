import { ConfigError } from '../../errors.ts'
import type { AgentSourceConfig } from '../config.ts'
import type { Authenticator } from '../connectors/auth.ts'
import type { Connector } from '../connectors/connector.ts'
import { createListConnector } from '../connectors/list/index.ts'
import type { ListConnector } from '../connectors/list/list-connector.ts'
import { compileExpression, type Expression } from '../expression.ts'
import type { HttpClient } from '../http-client.ts'
import type { Sink } from '../sinks/sink.ts'
import { createAfterRun, type AfterRun } from './after-run.ts'
import { boundHeapGrowth } from './heap-growth.ts'
import type { SyncConfig } from './sync-config.ts'

/** What scheduled runs of one source need, besides its fetch, transform and sink. */
export interface SyncRuntime {
  list: ListConnector
  config: SyncConfig
  /** The record type listed records are known by on the webhook path. */
  recordType?: string
  /** Deliveries per deliverBatch call: the whole chunk, or `sync.concurrency` for one-record-per-call sinks. */
  sliceSize: number
  afterRun?: AfterRun
}

/** The sync parts of a source runtime: its list (if any) and its origin filter (if any). */
export interface SyncParts {
  sync?: SyncRuntime
  originFilter?: Expression
}

/** Builds `list`, `sync` and `originFilter` of a source; what cannot work fails here, at start-up, as a ConfigError. */
export async function buildSyncParts(
  config: AgentSourceConfig,
  deps: { key: string; auth: Authenticator; connector: Connector; sink: Sink; http: HttpClient; now?: () => number },
): Promise<SyncParts> {
  const { key } = deps
  const parts: SyncParts = {}
  if (config.originFilter !== undefined) parts.originFilter = compileExpression(config.originFilter, `${key}.originFilter`)
  if (!config.list) return parts
  if (config.sync.deletes && !deps.sink.deleteNotSeenInRun) {
    throw new ConfigError(`${key}.sync.deletes: the ${config.deliver.type} sink cannot delete what a full run did not see: use a postgres or mysql sink with deliver.runColumn set (the column that stamps each row with the run that wrote it), or set deletes: false`)
  }
  if (config.list.type === 'http' && config.list.detail === 'fetch' && config.fetch.type !== 'http') throw new ConfigError(`${key}.list.detail: fetch needs a fetch of type http`)
  boundHeapGrowth()
  parts.sync = {
    list: createListConnector(config.list, { auth: deps.auth, fetch: deps.connector, key: `${key}.list`, ...(deps.now ? { now: deps.now } : {}) }),
    config: config.sync,
    sliceSize: config.deliver.type === 'http' || config.deliver.type === 'module' ? config.sync.concurrency : config.sync.chunkSize,
    ...(config.list.recordType === undefined ? {} : { recordType: config.list.recordType }),
  }
  if (config.sync.afterRun) parts.sync.afterRun = await createAfterRun(config.sync.afterRun, { sink: deps.sink, http: deps.http, key: `${key}.sync.afterRun`, ...(deps.now ? { now: deps.now } : {}) })
  return parts
}

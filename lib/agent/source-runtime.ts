import { createHash } from 'node:crypto'
import type { AgentSourceConfig } from './config.ts'
import { createAuthenticator } from './connectors/auth.ts'
import { canonicalJson } from './content-hash.ts'
import type { Connector } from './connectors/connector.ts'
import { createConnector } from './connectors/index.ts'
import { compileExpression, type Expression } from './expression.ts'
import type { HttpClient } from './http-client.ts'
import type { LoopScope } from './loop-guard.ts'
import { createSink } from './sinks/index.ts'
import { groupCommit, type GroupedSink } from './sinks/group-commit.ts'
import { buildSyncParts, type SyncParts } from './sync/sync-source.ts'
import { createTransform, type Transform } from './transform.ts'
import { createWriteBack, type WriteBack } from './write-back.ts'

/** One configured source, ready to work: its connector, transform, sink and write-back (and list, for sync runs). */
export interface SourceRuntime extends SyncParts {
  name: string
  connector: Connector
  /** Gives the record's version (part of the idempotency key). */
  version?: Expression
  transform?: Transform
  /** Takes single real-time deliveries (grouped into batches) and sync chunks. */
  sink: GroupedSink
  writeBack?: WriteBack
  loopPrevention: AgentSourceConfig['loopPrevention']
  /** The loop guard's key for this source and its sink (see loop-guard.ts). */
  loopScope: LoopScope
}

/** A fingerprint of the sink config: a new destination is a new scope. Hashed, so no URL or password is stored. */
export function destinationOf(deliver: AgentSourceConfig['deliver']): string {
  return createHash('sha256').update(canonicalJson(deliver)).digest('hex').slice(0, 32)
}

/** Builds every source of the config; bad expressions or user modules fail here, at start-up, as ConfigErrors. */
export async function buildSources(
  sources: Record<string, AgentSourceConfig>,
  deps: { http: HttpClient; now?: () => number },
): Promise<Map<string, SourceRuntime>> {
  const built = new Map<string, SourceRuntime>()
  try {
    for (const [name, config] of Object.entries(sources)) built.set(name, await buildSource(name, config, deps))
  } catch (error) {
    await closeSources(built)
    throw error
  }
  return built
}

async function buildSource(name: string, config: AgentSourceConfig, deps: { http: HttpClient; now?: () => number }): Promise<SourceRuntime> {
  const key = `sources.${name}`
  const fetchAuth = createAuthenticator(config.fetch.type === 'http' ? config.fetch.auth : undefined, deps.http, deps.now)
  const runtime: SourceRuntime = {
    name,
    connector: createConnector(config.fetch, { auth: fetchAuth, key: `${key}.fetch`, ...(deps.now ? { now: deps.now } : {}) }),
    sink: groupCommit(await createSink(config.deliver, { http: deps.http, key: `${key}.deliver`, ...(deps.now ? { now: deps.now } : {}) })),
    loopPrevention: config.loopPrevention,
    loopScope: { source: name, destination: destinationOf(config.deliver) },
  }
  if (config.fetch.version !== undefined) runtime.version = compileExpression(config.fetch.version, `${key}.fetch.version`)
  if (config.transform) runtime.transform = await createTransform(config.transform, `${key}.transform`)
  if (config.writeBack) {
    // Same authenticator as the fetch by default, so an OAuth token is shared rather than fetched twice.
    const auth = config.writeBack.auth ? createAuthenticator(config.writeBack.auth, deps.http, deps.now) : fetchAuth
    runtime.writeBack = createWriteBack(config.writeBack, { auth, key: `${key}.writeBack`, ...(deps.now ? { now: deps.now } : {}) })
  }
  Object.assign(runtime, await buildSyncParts(config, { key, auth: fetchAuth, connector: runtime.connector, sink: runtime.sink, http: deps.http, ...(deps.now ? { now: deps.now } : {}) }))
  return runtime
}

/** Closes every sink (finishing pending writes). */
export async function closeSources(sources: Map<string, SourceRuntime>): Promise<void> {
  await Promise.allSettled([...sources.values()].map((source) => source.sink.close()))
}

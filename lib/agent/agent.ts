import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { DestinationStream, Logger } from 'pino'
import type { Dispatcher } from 'undici'
import { packageVersion } from '../version.ts'
import { ConfigError } from '../errors.ts'
import { MAX_PULL_BATCH } from '../relay/agent-api.ts'
import { fullJitterDelaySeconds } from '../relay/backoff.ts'
import { AckBatcher } from './ack-batcher.ts'
import { Breakers } from './breakers.ts'
import { AgentApiClient } from './api-client.ts'
import { CloudContact } from './cloud-contact.ts'
import { isAgentError } from './errors.ts'
import { startHealthServer, type HealthServer, type HealthStatus } from './health-server.ts'
import { HttpClient, type FetchLike } from './http-client.ts'
import { LeaseExtender } from './lease-extender.ts'
import type { LoadedAgentConfig } from './load-agent-config.ts'
import { createAgentLogger } from './logger.ts'
import { LoopGuard } from './loop-guard.ts'
import { AgentMetrics } from './metrics.ts'
import { processRequest } from './process-request.ts'
import { buildSources, closeSources, type SourceRuntime } from './source-runtime.ts'
import { runSync } from './sync/run-sync.ts'
import { WorkPool } from './work-pool.ts'

const HEARTBEAT_INTERVAL_IN_MS = 15_000
const STOP_GRACE_IN_MS = 30_000
const RETRY_BASE_DELAY_IN_MS = 500
const RETRY_MAX_DELAY_IN_MS = 30_000
/** An empty answer faster than this is followed by a pause, so a cloud answering at once is not polled in a hot loop. */
const MIN_EMPTY_POLL_IN_MS = 1_000
/** After the grace period, aborted work gets this long to notice before the sinks close. */
const ABORT_SETTLE_IN_MS = 1_000
const LOOP_GUARD_PRUNE_INTERVAL_IN_MS = 3_600_000
/** How long stop() keeps trying to deliver the last acks. */
const ACK_FLUSH_IN_MS = 10_000
/**
 * A busy pool pulls again once this share of its slots is free, not at every freed slot: one
 * pull per record would cost the cloud a request and a ledger commit per record. An idle or
 * half-idle pool is not affected (its free slots are over the mark, so it pulls at once).
 */
const PULL_WHEN_FREE_SHARE = 0.25

/** What can be injected, mostly for tests and for running the agent inside another process. */
export interface AgentOptions {
  /** fetch implementation for every outbound call (default: node:http keep-alive pools, see http-client.ts). */
  fetch?: FetchLike
  /** undici dispatcher for undici's fetch (default: none; undici's EnvHttpProxyAgent when HTTPS_PROXY/HTTP_PROXY is set, NO_PROXY honoured). */
  dispatcher?: Dispatcher
  /** Clock (epoch ms) for timestamps, latencies, health and ack deadlines. Timers stay real. */
  now?: () => number
  /** A ready pino logger; else one is made at `config.log.level` writing to `logDestination` (default stdout). */
  logger?: Logger
  logDestination?: DestinationStream
  /** Sent in heartbeats. Defaults: this machine's hostname, hookferry's version. */
  hostname?: string
  version?: string
  heartbeatIntervalMs?: number
  /** How often a running lease is extended (default: half of cloud.leaseSeconds). */
  extendIntervalMs?: number
  /** stop() waits this long for running work before releasing it (default 30 s). */
  stopGraceMs?: number
  /** Backoff while the cloud is unreachable: full jitter from base, capped at max (defaults 0.5 s and 30 s). */
  retryBaseDelayMs?: number
  retryMaxDelayMs?: number
}

/**
 * The on-prem agent: long-polls the cloud for leases, works on up to `concurrency` of them at a
 * time (see WorkPool and processRequest), and sends heartbeats. It never gives up on the cloud:
 * while it is unreachable it retries with capped exponential backoff, logging each failure.
 */
export class Agent {
  readonly config: LoadedAgentConfig
  readonly log: Logger
  readonly metrics = new AgentMetrics()
  /** Circuit breakers per SaaS API and per destination (see breakers.ts). */
  readonly breakers: Breakers
  /** This process, for the cloud: a restart takes back the leases of the previous one at once. */
  readonly incarnation = `${Date.now()}-${randomUUID()}`
  /** Where /healthz and /metrics are served, when `health` is configured. */
  healthUrl: string | undefined

  readonly #options: AgentOptions
  readonly #now: () => number
  readonly #http: HttpClient
  readonly #client: AgentApiClient
  readonly #contact: CloudContact
  readonly #acks: AckBatcher
  readonly #pool: WorkPool
  readonly #stopController = new AbortController()
  #sources = new Map<string, SourceRuntime>()
  #loopGuard: LoopGuard | undefined
  #healthServer: HealthServer | undefined
  #heartbeatTimer: NodeJS.Timeout | undefined
  #pruneTimer: NodeJS.Timeout | undefined
  #loop: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  /** A pull that may wait for work is out: acks finishing meanwhile go in calls of their own. */
  #longPolling = false
  /** Until a cloud answers a pull without the results of the acks it carried (one older than this agent). */
  #acksRideOnPulls = true

  constructor(config: LoadedAgentConfig, options: AgentOptions = {}) {
    this.config = config
    this.#options = options
    const now = (this.#now = options.now ?? Date.now)
    const log = (this.log = options.logger ?? createAgentLogger({ level: config.log.level, ...(options.logDestination ? { destination: options.logDestination } : {}) }))
    const { leaseSeconds, pollWaitSeconds } = config.cloud
    this.breakers = new Breakers({ settings: { ...config.circuitBreaker, maxHeld: Math.max(1, config.concurrency - 1) }, log, metrics: this.metrics, now })
    this.#http = new HttpClient({ ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) })
    const client = (this.#client = new AgentApiClient({ baseUrl: config.cloud.url, token: config.cloud.token, http: this.#http, now }))
    const heartbeatMs = options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_IN_MS
    this.#contact = new CloudContact({ now, staleAfterMs: Math.max(60_000, pollWaitSeconds * 1000 + 2 * heartbeatMs) })
    this.#acks = new AckBatcher({ client, log, now, maxRetryDelayMs: this.#retryMaxDelayMs, pullDue: () => this.#acksRideOnPulls && !this.#longPolling && !this.#stopController.signal.aborted })
    this.#pool = new WorkPool({
      concurrency: config.concurrency,
      leaseSeconds,
      process: (lease, signal) =>
        lease.sync
          ? runSync(lease, { sources: this.#sources, loopGuard: this.#loopGuard!, checkpoint: (request, abort) => client.checkpoint(request, abort), log, now }, signal)
          : processRequest(lease, { sources: this.#sources, loopGuard: this.#loopGuard!, log, now, breakers: this.breakers }, signal),
      extender: new LeaseExtender({ client, log, intervalMs: options.extendIntervalMs ?? (leaseSeconds * 1000) / 2, leaseSeconds }),
      acks: this.#acks,
      log,
      metrics: this.metrics,
      now,
    })
  }

  /** Leases being worked on now. */
  get inFlight(): number {
    return this.#pool.size
  }

  /** /healthz: is the cloud answering? */
  health(): HealthStatus {
    return this.#contact.status()
  }

  /** Opens the state, builds the sources (bad modules fail here as ConfigErrors), starts the health server, then polls. */
  async start(): Promise<void> {
    const { file, dataDir, health } = this.config
    try {
      this.#loopGuard = await asConfigError(`${file}: dataDir: cannot use ${dataDir}`, () => new LoopGuard(dataDir, this.#now))
      this.#sources = await asConfigError(file, () => buildSources(this.config.sources, { http: this.#http, now: this.#now }))
      this.#pruneLoopGuard()
      this.#pruneTimer = setInterval(() => this.#pruneLoopGuard(), LOOP_GUARD_PRUNE_INTERVAL_IN_MS).unref()
      if (health) {
        const where = `${file}: health: cannot listen on ${health.host}:${health.port}`
        this.#healthServer = await asConfigError(where, () => startHealthServer({ ...health, health: () => this.health(), metrics: this.metrics }))
        this.healthUrl = this.#healthServer.url
      }
    } catch (error) {
      await this.#close()
      throw error
    }
    this.log.info(
      { cloud: this.#client.baseUrl, sources: [...this.#sources.keys()], concurrency: this.config.concurrency, dataDir, ...(this.healthUrl ? { health: this.healthUrl } : {}) },
      'hookferry agent started',
    )
    void this.#heartbeat()
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(), this.#options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_IN_MS)
    this.#loop = this.#pollLoop()
  }

  /**
   * Stops pulling (the long poll is aborted), waits up to the grace period for running work,
   * gives back (acks `release`) the leases still running, sends the last acks, and closes.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  async #stop(): Promise<void> {
    this.#stopController.abort()
    clearInterval(this.#heartbeatTimer)
    await this.#loop
    const graceMs = this.#options.stopGraceMs ?? STOP_GRACE_IN_MS
    if (this.#pool.size > 0) this.log.info({ inFlight: this.#pool.size, graceMs }, 'stopping: waiting for running work')
    await this.#pool.settle(graceMs)
    const released = this.#pool.releaseAll()
    if (released.length > 0) {
      this.log.warn({ released }, 'stopping: released the leases of unfinished work (another poll will redo it)')
      await this.#pool.settle(ABORT_SETTLE_IN_MS)
    }
    await this.#acks.flush(ACK_FLUSH_IN_MS)
    await this.#close()
    this.log.info({ released: released.length }, 'hookferry agent stopped')
  }

  /** Forgets loop-guard hashes older than each source's `loopPrevention.forgetAfterDays`. */
  #pruneLoopGuard(): void {
    for (const source of this.#sources.values()) {
      try {
        const pruned = this.#loopGuard!.prune(source.name, source.loopPrevention.forgetAfterDays)
        if (pruned > 0) this.log.info({ source: source.name, pruned }, 'forgot old loop-prevention hashes')
      } catch (error) {
        this.log.warn({ source: source.name, error: (error as Error).message }, 'could not prune loop-prevention hashes; will try again')
      }
    }
  }

  async #close(): Promise<void> {
    clearInterval(this.#pruneTimer)
    await this.#healthServer?.close()
    await closeSources(this.#sources)
    this.#loopGuard?.close()
    await this.#http.close()
  }

  get #retryMaxDelayMs(): number {
    return this.#options.retryMaxDelayMs ?? RETRY_MAX_DELAY_IN_MS
  }

  async #pollLoop(): Promise<void> {
    const { leaseSeconds, pollWaitSeconds } = this.config.cloud
    const signal = this.#stopController.signal
    let failures = 0
    const pullBatch = Math.max(1, Math.floor(this.config.concurrency * PULL_WHEN_FREE_SHARE))
    while (!signal.aborted) {
      await this.#pool.freeSlots(pullBatch, signal)
      await this.breakers.beforePull(signal)
      if (signal.aborted) break
      const startedAt = performance.now()
      // Finished work's acks ride on this pull; then it must not wait for work (their results would wait too).
      const acks = this.#acksRideOnPulls ? this.#acks.take() : []
      const waitSeconds = acks.length > 0 ? 0 : pollWaitSeconds
      this.#longPolling = waitSeconds > 0
      try {
        const pull = {
          max: Math.min(MAX_PULL_BATCH, this.#pool.free),
          waitSeconds,
          leaseSeconds,
          incarnation: this.incarnation,
          ...(acks.length > 0 ? { acks: acks.map((pending) => pending.item) } : {}),
        }
        const response = await this.#client.pull(pull, signal).finally(() => (this.#longPolling = false))
        if (acks.length > 0 && response.acks === undefined) {
          this.#acksRideOnPulls = false
          this.log.info({ cloud: this.#client.baseUrl }, 'the cloud does not take acks on pulls (an older hookferry): sending them on their own')
        }
        this.#acks.settle(acks, response.acks)
        this.#contact.succeeded()
        if (failures > 0) this.log.info({ cloud: this.#client.baseUrl }, 'cloud reachable again')
        failures = 0
        for (const lease of response.leases) this.#pool.begin(lease)
        const elapsedMs = performance.now() - startedAt
        if (response.leases.length === 0 && waitSeconds > 0 && elapsedMs < MIN_EMPTY_POLL_IN_MS) await sleep(MIN_EMPTY_POLL_IN_MS - elapsedMs, undefined, { signal }).catch(() => undefined)
      } catch (error) {
        this.#acks.giveBack(acks)
        if (signal.aborted) break
        failures += 1
        const delayMs = this.#backoffMs(failures, error)
        const message = (error as Error).message
        this.#contact.failed(message)
        const fields = { cloud: this.#client.baseUrl, error: message, retryInMs: Math.round(delayMs), failures }
        this.log.error(fields, `cloud poll failed: ${message}; retrying in ${(delayMs / 1000).toFixed(1)} s`)
        await sleep(delayMs, undefined, { signal }).catch(() => undefined)
      }
    }
  }

  /** Full-jitter backoff, capped; the cloud's Retry-After when it gave one; the cap for a rejected token (retry slowly). */
  #backoffMs(failures: number, error: unknown): number {
    const max = this.#retryMaxDelayMs
    if (isAgentError(error) && !error.retryable) return max
    if (isAgentError(error) && error.retryAfterSeconds !== undefined) return Math.min(max, error.retryAfterSeconds * 1000)
    const base = this.#options.retryBaseDelayMs ?? RETRY_BASE_DELAY_IN_MS
    return fullJitterDelaySeconds(failures, { baseDelaySeconds: base / 1000, maxDelaySeconds: max / 1000 }) * 1000
  }

  async #heartbeat(): Promise<void> {
    try {
      const breakers = this.breakers.statuses().filter((breaker) => breaker.state !== 'closed')
      await this.#client.heartbeat({ version: this.#options.version ?? packageVersion(), hostname: this.#options.hostname ?? hostname(), inFlight: this.#pool.size, breakers })
      this.#contact.succeeded()
    } catch (error) {
      this.#contact.failed((error as Error).message)
      // One still out when the agent stopped is cut off by closing its connections: not a failure to report.
      const level = this.#stopController.signal.aborted ? 'debug' : 'warn'
      this.log[level]({ cloud: this.#client.baseUrl, error: (error as Error).message }, 'heartbeat failed')
    }
  }
}

/** Runs a start-up step; its failure becomes a ConfigError prefixed with `where` (the CLI prints it as one line). */
async function asConfigError<T>(where: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step()
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new ConfigError(`${where}: ${error instanceof ConfigError ? error.message : reason}`, { cause: error })
  }
}

/** Creates and starts an agent; resolves once it is polling. */
export async function startAgent(config: LoadedAgentConfig, options: AgentOptions = {}): Promise<Agent> {
  const agent = new Agent(config, options)
  await agent.start()
  return agent
}

import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RequestDetail, RequestDetailResponse, RequestPageResponse, RequestSummary } from '../../lib/admin/admin-api.ts'
import { serverConfigSchema, type ServerConfig } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import { sha256Hex } from '../../lib/relay/agent-auth.ts'
import type { RequestState } from '../../lib/relay/types.ts'
import { signWebhook } from '../../lib/sources/sign.ts'
import { startAgentProcess, startServeProcess, type HookferryProcess } from './processes.ts'
import type { TestScope } from './test-scope.ts'
import { eventually } from './wait.ts'

export const WEBHOOK_SECRET = 'e2e-webhook-secret'
export const AGENT_TOKEN = 'hfa_e2e-agent-token'
/** A second agent identity, for high-availability tests (two agents, different ids, same sources). */
export const SECOND_AGENT = { id: 'e2e-agent-2', token: 'hfa_e2e-second-agent-token' }
export const ADMIN_TOKEN = 'hfx_e2e-admin-token'
/** Short leases, so a killed agent's work comes back within seconds. */
export const LEASE_SECONDS = 5

/** A GitHub-signed source whose webhooks look like `{"type": "<event>", "data": {"id": "<record id>"}}`. */
export function webhookSource(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    verify: { scheme: 'github', secrets: [WEBHOOK_SECRET] },
    extract: { recordId: 'body.data.id', event: 'body.type' },
    ...overrides,
  }
}

/** The agent config keys a test chooses; the cloud block (URL, token, short lease) is filled in. */
export interface AgentSetup {
  sources: Record<string, unknown>
  concurrency?: number
  cloud?: Record<string, unknown>
  /** Environment of the agent process, for `${NAME}` references in the config (API tokens). */
  env?: Record<string, string>
  /** Other top-level agent config keys (e.g. `circuitBreaker`). */
  settings?: Record<string, unknown>
  /** Run as the second agent identity (SECOND_AGENT) instead of `e2e-agent`. */
  second?: boolean
}

export interface WebhookReply {
  status: number
  headers: Headers
  text: string
  json<T = Record<string, unknown>>(): T
}

export interface Relay {
  /** Base URL of `hookferry serve` (webhooks, agent API, admin API). */
  url: string
  /** Where the configs, the database and the agents' state live. */
  dir: string
  serve: HookferryProcess
  config: ServerConfig
  /** Writes an agent config for this relay and starts `hookferry agent` with it. */
  startAgent(setup: AgentSetup, name?: string): Promise<HookferryProcess>
  /** Posts a webhook signed as its provider would sign it. */
  sendWebhook(source: string, body: unknown): Promise<WebhookReply>
  /** Posts `{"type": event, "data": {"id": recordId}}` to a `webhookSource`. */
  recordChanged(source: string, recordId: string, event?: string): Promise<WebhookReply>
  /** GET on the admin API with the admin token. */
  admin<T>(path: string): Promise<T>
  /** Waits until the ledger shows the request in `state` (the agent logs an outcome just before it acks it). */
  requestIn(requestId: string, state: RequestState): Promise<RequestDetail>
  requests(query: Record<string, string>): Promise<RequestSummary[]>
}

/**
 * `hookferry serve` as a child process, with a config written to a temp dir: the given sources,
 * one agent credential, an admin token, short leases and fast retries (0.2 s base, 1 s cap).
 */
export async function startRelay(scope: TestScope, options: { sources: Record<string, unknown>; server?: Record<string, unknown>; serveArgs?: string[] }): Promise<Relay> {
  const dir = scope.tempDir('hookferry-relay-')
  const input = {
    sources: options.sources,
    agents: [
      { id: 'e2e-agent', tokenSha256: sha256Hex(AGENT_TOKEN) },
      { id: SECOND_AGENT.id, tokenSha256: sha256Hex(SECOND_AGENT.token) },
    ],
    adminTokenSha256: sha256Hex(ADMIN_TOKEN),
    lease: { defaultSeconds: LEASE_SECONDS },
    retry: { baseDelaySeconds: 0.2, maxDelaySeconds: 1 },
    ...options.server,
  }
  // Parsed here too: a bad test config fails with the schema's message, and signing needs the defaults.
  const config = parseWithSchema(serverConfigSchema, input, 'e2e server config')
  const configFile = join(dir, 'hookferry.yaml')
  writeFileSync(configFile, JSON.stringify(input, null, 2)) // JSON is YAML
  const { process: serve, url } = await startServeProcess(scope, { configFile, dataDir: join(dir, 'data'), ...(options.serveArgs ? { args: options.serveArgs } : {}) })

  const post = async (source: string, raw: Buffer, headers: Record<string, string>): Promise<WebhookReply> => {
    const response = await fetch(`${url}/hooks/${source}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: raw })
    const text = await response.text()
    return { status: response.status, headers: response.headers, text, json: <T>() => JSON.parse(text) as T }
  }
  const sendWebhook = (source: string, body: unknown) => {
    const verify = config.sources[source]?.verify
    if (!verify) throw new Error(`no source ${source} in the relay config`)
    const raw = Buffer.from(JSON.stringify(body))
    return post(source, raw, signWebhook(verify, raw, { now: new Date(), id: randomUUID() }))
  }
  const admin = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    if (!response.ok) throw new Error(`admin API ${path}: HTTP ${response.status} ${await response.text()}`)
    return (await response.json()) as T
  }

  let agents = 0
  return {
    url,
    dir,
    serve,
    config,
    async startAgent(setup, name) {
      agents += 1
      const agentConfig = {
        cloud: { url, token: '${HOOKFERRY_AGENT_TOKEN}', leaseSeconds: LEASE_SECONDS, pollWaitSeconds: 2, ...setup.cloud },
        concurrency: setup.concurrency ?? 4,
        dataDir: setup.second ? './agent-data-2' : './agent-data',
        ...setup.settings,
        sources: setup.sources,
      }
      mkdirSync(join(dir, 'agent'), { recursive: true })
      const configFile = join(dir, 'agent', `agent-${agents}.yaml`)
      writeFileSync(configFile, JSON.stringify(agentConfig, null, 2))
      return startAgentProcess(scope, { configFile, name: name ?? `agent #${agents}`, env: { ...setup.env, HOOKFERRY_AGENT_TOKEN: setup.second ? SECOND_AGENT.token : AGENT_TOKEN } })
    },
    sendWebhook,
    recordChanged: (source, recordId, event = 'record.updated') => sendWebhook(source, { type: event, data: { id: recordId } }),
    admin,
    requestIn: (requestId, state) =>
      eventually(`request ${requestId} ${state} in the ledger`, async () => {
        const { request } = await admin<RequestDetailResponse>(`/admin/v1/requests/${encodeURIComponent(requestId)}`)
        return request.state === state && request
      }),
    requests: async (query) => (await admin<RequestPageResponse>(`/admin/v1/requests?${new URLSearchParams({ limit: '1000', ...query })}`)).items,
  }
}

/** The request ids a 202 answer names. */
export function requestIdsOf(reply: WebhookReply): string[] {
  if (reply.status !== 202) throw new Error(`expected 202, got ${reply.status}: ${reply.text}`)
  return reply.json<{ requests: string[] }>().requests
}

import { randomBytes, randomUUID } from 'node:crypto'
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { startAgent, type Agent } from '../agent/agent.ts'
import { loadAgentConfig } from '../agent/load-agent-config.ts'
import { loadYamlConfig } from '../config/load-yaml.ts'
import { serverConfigSchema, type VerifyConfig } from '../config/server-config.ts'
import { sha256Hex } from '../relay/agent-auth.ts'
import type { RunningServer } from '../server/serve.ts'
import { startServeProcess } from '../cli/serve-process.ts'
import { signWebhook } from '../sources/sign.ts'
import { startDemoSaas, type DemoCustomer, type DemoSaas } from './demo-saas.ts'
import { startDemoSink } from './demo-sink.ts'

export const DEMO_SOURCE = 'demo-crm'
const CHANGE_INTERVAL_IN_MS = 6_000
const NAMES = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Katherine Johnson', 'Edsger Dijkstra', 'Barbara Liskov']
const PLANS = ['starter', 'pro', 'enterprise']

export interface DemoOptions {
  dataDir: string
  port: number
  /** Print a line (the demo's narration). */
  say: (line: string) => void
  /** Let the demo SaaS change customers on a timer. */
  autoChanges: boolean
}

export interface RunningDemo {
  server: RunningServer
  saas: DemoSaas
  agent: Agent
  serverConfigFile: string
  stop(): Promise<void>
}

const short = (id: string) => id.slice(0, 8)

/**
 * `npm start`: the whole path on one machine — `hookferry serve` (SQLite), an agent, a demo SaaS
 * API and a demo sink — with the configs written to the data dir so a newcomer can read them.
 */
export async function runDemo(options: DemoOptions): Promise<RunningDemo> {
  const { say } = options
  const dataDir = resolve(options.dataDir)
  // A fresh start each time: the demo's ledger, queue and loop-guard state are throwaway.
  rmSync(dataDir, { recursive: true, force: true })
  mkdirSync(dataDir, { recursive: true })

  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`
  const agentToken = `hfa_${randomBytes(24).toString('base64url')}`
  const saasToken = `saas_${randomBytes(12).toString('hex')}`
  // The dashboard's sign-in: kept in a file, never printed (the terminal may be recorded or shared).
  const adminToken = `hfx_${randomBytes(24).toString('base64url')}`
  const adminTokenFile = join(dataDir, 'admin-token')
  writeFileSync(adminTokenFile, `${adminToken}\n`, { mode: 0o600 })
  const serverConfigFile = join(dataDir, 'hookferry.yaml')
  writeFileSync(
    serverConfigFile,
    `# Written by \`npm start\` (hookferry demo). Reference: lib/config/server-config.ts
sources:
  ${DEMO_SOURCE}:
    verify:
      scheme: standard-webhooks
      secrets: ["${webhookSecret}"]
    extract:
      recordId: body.data.id
      recordType: "'customer'"
      event: body.type
    # The scheduled half: once at start, then every minute, a run reads what changed since its
    # watermark (webhooks get lost; a run catches up). The agent config says how (list:).
    jobs:
      catch-up:
        schedule: "* * * * *"
        firstRun: immediately
        lagSeconds: 0
agents:
  - id: demo-agent
    tokenSha256: ${sha256Hex(agentToken)}
adminTokenSha256: ${sha256Hex(adminToken)}
`,
  )
  const config = loadYamlConfig(serverConfigSchema, serverConfigFile)
  const verify = config.sources[DEMO_SOURCE]!.verify as VerifyConfig

  // The same server, log lines included, as `hookferry serve`: they go to serve.log.
  const server = await startServeProcess({
    config,
    dataDir,
    port: options.port,
    destination: pino.destination({ dest: join(dataDir, 'serve.log'), append: true, sync: true }),
    portHint: 'npm start -- --port 8790',
  })

  const sendWebhook = async (customer: DemoCustomer, via: 'user' | 'write-back') => {
    const body = Buffer.from(JSON.stringify({ type: 'customer.updated', data: { id: customer.id } }))
    const headers = { 'content-type': 'application/json', ...signWebhook(verify, body, { now: new Date(), id: `msg_${randomUUID()}` }) }
    try {
      const response = await fetch(`${server.url}/hooks/${DEMO_SOURCE}`, { method: 'POST', headers, body })
      const answer = (await response.json()) as { requests?: string[] }
      const cause = via === 'user' ? `${customer.name} changed (v${customer.version})` : `write-back stored external_id (v${customer.version})`
      say(`saas   → webhook customer.updated ${customer.id}: ${cause} → ${response.status}${answer.requests ? ` request ${short(answer.requests[0]!)}` : ''}`)
    } catch (error) {
      say(`saas   ✗ webhook for ${customer.id} not sent: ${(error as Error).message}`)
    }
  }
  const saas = await startDemoSaas({ apiToken: saasToken, onChange: (customer, via) => void sendWebhook(customer, via) })
  const sink = await startDemoSink({
    onDelivery: ({ body }, duplicate) =>
      say(`sink   ◂ ${duplicate ? 'redelivery (same Idempotency-Key, ignored)' : 'received'} ${String(body.id)} "${String(body.name)}" plan=${String(body.plan)} v${String(body.version)}`),
  })

  const agentConfigFile = join(dataDir, 'agent.yaml')
  writeFileSync(
    agentConfigFile,
    `# Written by \`npm start\` (hookferry demo). Reference: lib/agent/config.ts; samples: examples/agent/
cloud:
  url: ${server.url}
  token: ${agentToken}
concurrency: 4
dataDir: ./agent-data
health: { host: 127.0.0.1, port: 0 }
sources:
  ${DEMO_SOURCE}:
    fetch:
      type: http
      url: ${saas.url}/api/customers/{id}
      auth: { type: bearer, token: ${saasToken} }
      version: version
    transform:
      jsonata: '{ "id": record.id, "name": record.name, "email": record.email, "plan": record.plan, "version": record.version }'
    deliver:
      type: http
      url: ${sink.url}/customers/{id}
      method: PUT
    writeBack:
      url: ${saas.url}/api/customers/{id}
      method: PATCH
      body: '{ "external_id": response.body.onPremId }'
    # How the scheduled job reads changes: a keyset page at a time, in (updated_at, id) order.
    list:
      type: http
      url: ${saas.url}/api/customers?updated_after={since}&after_id={sinceKey}&limit={pageSize}
      items: data
      id: id
      cursor: updated_at
      order: cursor-key
      recordType: customer
      pagination: { type: since }
      pageSize: 100
    loopPrevention:
      # The version changes on every write, ours included: compare the rest.
      ignoreFields: [version]
`,
  )
  const agentConfig = loadAgentConfig(agentConfigFile)
  const agentLog = createWriteStream(join(dataDir, 'agent.log'), { flags: 'a' })
  const narrate = new Writable({
    write(chunk: Buffer, _encoding, done) {
      agentLog.write(chunk)
      for (const line of chunk.toString('utf8').split('\n')) narrateAgentLine(line, say)
      done()
    },
  })
  const agent = await startAgent(agentConfig, { logDestination: narrate })

  const timer = options.autoChanges
    ? setInterval(() => {
        const ids = [...saas.customers.keys()]
        const id = ids[Math.floor(Math.random() * ids.length)]!
        const current = saas.customers.get(id)!
        const pick = (values: string[], now: string) => {
          const others = values.filter((value) => value !== now)
          return others[Math.floor(Math.random() * others.length)]!
        }
        saas.update(id, Math.random() < 0.5 ? { name: pick(NAMES, current.name) } : { plan: pick(PLANS, current.plan) })
      }, CHANGE_INTERVAL_IN_MS)
    : undefined

  const configPath = relative(process.cwd(), serverConfigFile) || serverConfigFile
  say(`hookferry demo — everything runs on this machine:
  cloud half  ${server.url}  (hookferry serve: SQLite in ${relative(process.cwd(), dataDir) || dataDir})
  agent       polls ${server.url}/agent/v1/pull outbound; health ${agent.healthUrl ?? '(off)'}/healthz
  demo SaaS   ${saas.url}  (customers cus_1..cus_3; it signs its webhooks)
  demo sink   ${sink.url}  (stands in for your on-prem system)
  dashboard   ${server.url}/ui/  (sign in with the admin token in ${relative(process.cwd(), adminTokenFile) || adminTokenFile})

${options.autoChanges ? `Every ${CHANGE_INTERVAL_IN_MS / 1000} s the demo SaaS changes a customer. ` : ''}A scheduled sync job (catch-up) runs at start and every
minute: it lists what changed since its watermark, delivers it, and checkpoints (\`npx hookferry syncs\`).
Send a webhook yourself (another terminal):
  npx hookferry send --config ${configPath} --url ${server.url} --source ${DEMO_SOURCE} --data '{"type":"customer.updated","data":{"id":"cus_2"}}'
Configs: ${configPath} (server) and ${relative(process.cwd(), agentConfigFile) || agentConfigFile} (agent). Logs: serve.log, agent.log there.
Ctrl-C stops everything.
`)

  return {
    server,
    saas,
    agent,
    serverConfigFile,
    stop: async () => {
      if (timer) clearInterval(timer)
      await agent.stop()
      await Promise.all([server.close(), saas.close(), sink.close()])
      // The agent's last lines ("stopped") must reach agent.log before the process exits.
      await new Promise<void>((done) => agentLog.end(done))
    },
  }
}

/** Turns the agent's structured outcome lines into one readable line each. */
function narrateAgentLine(line: string, say: (line: string) => void): void {
  if (!line.trim()) return
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return
  }
  if (narrateSyncLine(entry, say)) return
  const record = `${String(entry.recordId)} (request ${short(String(entry.requestId ?? ''))}, attempt ${String(entry.attempt)}, ${String(entry.durationMs)} ms)`
  if (entry.msg === 'request done') {
    if (entry.note === 'unchanged') say(`agent  ⟲ ${record}: content unchanged since the last delivery (our own write-back coming back, or a change already delivered) — not delivered again (loop prevented)`)
    else say(`agent  ✔ ${record}: fetched by id, delivered, external id written back`)
  } else if (entry.msg === 'request will be retried' || entry.msg === 'request failed') {
    say(`agent  ✗ ${record}: ${String((entry.error as { message?: string } | undefined)?.message ?? entry.msg)}`)
  } else if (typeof entry.level === 'number' && entry.level >= 40) {
    say(`agent  ! ${String(entry.msg)}`)
  }
}

/** A position as a person reads it: the cursor (and the key that breaks ties). */
const positionText = (position: unknown) => {
  const { cursor, key } = (position ?? {}) as { cursor?: unknown; key?: unknown }
  return cursor === undefined ? 'the beginning' : `${String(cursor)} / ${String(key)}`
}

/** The scheduled run's lines: started (from which watermark), then what it read, delivered and checkpointed. */
function narrateSyncLine(entry: Record<string, unknown>, say: (line: string) => void): boolean {
  const job = String(entry.job ?? entry.recordId)
  if (entry.msg === 'sync run started') {
    say(`sync   ▸ run ${short(String(entry.runId ?? entry.requestId ?? ''))} of job ${job} started: reading what changed since ${positionText(entry.after)}`)
    return true
  }
  if (entry.msg === 'sync run finished') {
    const counts = (entry.counts ?? {}) as Record<string, number>
    say(`sync   ✔ ${counts.read ?? 0} changed since the watermark → ${counts.written ?? 0} delivered, ${counts.unchanged ?? 0} unchanged (already delivered) → checkpoint ${positionText(entry.checkpoint)}`)
    return true
  }
  // The run's own ack line says nothing a person needs after the two above.
  return entry.recordType === '@sync'
}

import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentsResponse, BulkReplayResponse, RequestDetailResponse, RequestPageResponse } from '../../lib/admin/admin-api.ts'
import { checkAlerts, type AlertMemory } from '../../lib/admin/alerts.ts'
import { registerAdminAgentCommands } from '../../lib/cli/commands/admin-agents.ts'
import type { CliIo } from '../../lib/cli/commands/admin-client.ts'
import { registerAdminDeadLetterCommands } from '../../lib/cli/commands/admin-dead-letters.ts'
import { registerAdminRequestCommands } from '../../lib/cli/commands/admin-requests.ts'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import type { LeaseGrant } from '../../lib/relay/agent-api.ts'
import { sha256Hex } from '../../lib/relay/agent-auth.ts'
import type { Log } from '../../lib/relay/deps.ts'
import { startServer, type RunningServer } from '../../lib/server/serve.ts'

/** The admin API, its alerts and the admin CLI, against a real `hookferry serve` over HTTP. */
const ADMIN_TOKEN = 'hfa_admin-token-for-tests'
const AGENT_TOKEN = 'hfa_agent-token-for-tests'

interface LogLine {
  level: string
  message: string
}

interface TestServer {
  url: string
  server: RunningServer
  logs: LogLine[]
  /** Sets the relay's clock (ledger times, leases, heartbeats); the queue keeps real time. */
  setNow(time: Date): void
}

let running: { server: RunningServer; dataDir: string }[] = []
afterEach(async () => {
  for (const { server, dataDir } of running) {
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
  running = []
})

async function start(options: { admin?: boolean } = {}): Promise<TestServer> {
  const source = { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id', event: 'body.type' }, maxAttempts: 3 }
  const config = parseWithSchema(
    serverConfigSchema,
    {
      sources: { shop: source, crm: source },
      agents: [{ id: 'onprem-1', tokenSha256: sha256Hex(AGENT_TOKEN) }],
      ...(options.admin === false ? {} : { adminTokenSha256: sha256Hex(ADMIN_TOKEN) }),
      alerts: { agentSilentSeconds: 120, backlogAgeSeconds: 600 },
    },
    'test config',
  )
  const dataDir = mkdtempSync(join(tmpdir(), 'hookferry-admin-'))
  const logs: LogLine[] = []
  const record = (level: string) => (message: string) => void logs.push({ level, message })
  const log: Log = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }
  const server = await startServer({ config, dataDir, port: 0, log })
  running.push({ server, dataDir })
  return {
    url: server.url,
    server,
    logs,
    setNow: (time) => {
      server.runtime.now = () => time
    },
  }
}

async function call<T>(url: string, method: 'GET' | 'POST', path: string, options: { token?: string | undefined; body?: unknown } = { token: ADMIN_TOKEN }) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const response = await fetch(`${url}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) })
  const text = await response.text()
  return { status: response.status, text, json: JSON.parse(text) as T }
}
const admin = <T>(t: TestServer, method: 'GET' | 'POST', path: string, body?: unknown) => call<T>(t.url, method, path, { token: ADMIN_TOKEN, ...(body === undefined ? {} : { body }) })
const agentCall = <T>(t: TestServer, path: string, body: unknown) => call<T>(t.url, 'POST', path, { token: AGENT_TOKEN, body })

async function ingest(t: TestServer, source: string, ...ids: string[]): Promise<void> {
  for (const id of ids) {
    const response = await fetch(`${t.url}/hooks/${source}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, type: 'customer.updated', nonce: randomUUID() }) })
    expect(response.status).toBe(202)
  }
}

/** Pulls through the agent API until `count` leases came or a pull came back empty. */
async function pull(t: TestServer, count: number): Promise<LeaseGrant[]> {
  const leases: LeaseGrant[] = []
  while (leases.length < count) {
    const { json } = await agentCall<{ leases: LeaseGrant[] }>(t, '/agent/v1/pull', { max: 10, waitSeconds: 1 })
    if (json.leases.length === 0) break
    leases.push(...json.leases)
  }
  return leases
}

async function ack(t: TestServer, leases: readonly LeaseGrant[], outcome: 'done' | 'fail'): Promise<void> {
  const acks = leases.map((grant) => (outcome === 'done' ? { lease: grant.lease, outcome } : { lease: grant.lease, outcome, error: { code: 'sink.unavailable', message: 'ECONNREFUSED 10.0.0.5:443' } }))
  const { json } = await agentCall<{ results: { status: string }[] }>(t, '/agent/v1/ack', { acks })
  expect(json.results.every((result) => result.status === 'ok' || result.status === 'dead_lettered')).toBe(true)
}

/** The sink is down: every pulled request fails for good. */
async function deadLetter(t: TestServer, source: string, ...ids: string[]): Promise<void> {
  await ingest(t, source, ...ids)
  const leases = await pull(t, ids.length)
  expect(leases.map((grant) => grant.recordId).sort()).toEqual([...ids].sort())
  await ack(t, leases, 'fail')
}

const deadIds = async (t: TestServer) => (await admin<RequestPageResponse>(t, 'GET', '/admin/v1/requests?state=dead')).json.items.map((item) => item.recordId).sort()

/** Runs admin commands in-process, as `hookferry <args>` would, capturing what they print. */
async function cli(t: TestServer, args: string[], options: { token?: string; tty?: boolean } = {}) {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.tty ?? false },
    env: { HOOKFERRY_URL: t.url, HOOKFERRY_ADMIN_TOKEN: options.token ?? ADMIN_TOKEN },
    now: () => new Date(),
  }
  const program = new Command('hookferry').exitOverride().configureOutput({ writeOut: (text) => (stdout += text), writeErr: (text) => (stderr += text) })
  registerAdminRequestCommands(program, io)
  registerAdminDeadLetterCommands(program, io)
  registerAdminAgentCommands(program, io)
  const error = await program.parseAsync(args, { from: 'user' }).then(() => undefined, (caught: unknown) => caught as Error & { code?: string; statusCode?: number })
  return { stdout, stderr, error }
}

describe('admin API: access', () => {
  it('rejects a missing token, a wrong token and an agent token with a 401 JSON error', async () => {
    const t = await start()
    for (const token of [undefined, 'hfa_wrong', AGENT_TOKEN]) {
      const reply = await call<{ error: { code: string; message: string } }>(t.url, 'GET', '/admin/v1/requests', { token })
      expect(reply.status).toBe(401)
      expect(reply.json.error.code).toBe(token === undefined ? 'auth.missing_token' : 'auth.invalid_token')
      expect(reply.text).not.toMatch(/at .*\.ts:\d+/)
    }
    const replay = await call<{ error: { code: string } }>(t.url, 'POST', '/admin/v1/dead-letters/replay', { token: 'hfa_wrong', body: {} })
    expect(replay.status).toBe(401)
    expect(t.logs.some((line) => line.message === 'admin API request rejected')).toBe(true)
    expect(JSON.stringify(t.logs)).not.toContain('hfa_wrong')
  })

  it('is closed (403 admin.disabled) when the config has no admin token', async () => {
    const t = await start({ admin: false })
    const reply = await call<{ error: { code: string } }>(t.url, 'GET', '/admin/v1/agents', { token: ADMIN_TOKEN })
    expect(reply.status).toBe(403)
    expect(reply.json.error.code).toBe('admin.disabled')
  })

  it('answers bad queries and bodies with 400 and unknown ids with 404, each with a code and message', async () => {
    const t = await start()
    const bad = [
      await admin<{ error: { code: string; message: string } }>(t, 'GET', '/admin/v1/requests?state=lost'),
      await admin<{ error: { code: string; message: string } }>(t, 'GET', '/admin/v1/requests?limit=0'),
      await admin<{ error: { code: string; message: string } }>(t, 'GET', '/admin/v1/requests?since=yesterday'),
      await admin<{ error: { code: string; message: string } }>(t, 'GET', '/admin/v1/requests?stat=dead'),
      await admin<{ error: { code: string; message: string } }>(t, 'POST', '/admin/v1/dead-letters/replay', { limit: 10_000 }),
    ]
    for (const reply of bad) {
      expect(reply.status).toBe(400)
      expect(reply.json.error.code).toBe('request.invalid')
    }
    expect(bad[0]!.json.error.message).toContain('state')
    expect(bad[2]!.json.error.message).toContain('since')

    await deadLetter(t, 'shop', 'a')
    const [dead] = (await admin<RequestPageResponse>(t, 'GET', '/admin/v1/requests?state=dead')).json.items
    const noReason = await admin<{ error: { code: string; message: string } }>(t, 'POST', `/admin/v1/requests/${dead!.id}/discard`, { reason: '  ' })
    expect(noReason.status).toBe(400)
    expect(noReason.json.error.message).toContain('reason')

    const unknown = await admin<{ error: { code: string } }>(t, 'GET', '/admin/v1/requests/no-such-request')
    expect(unknown.status).toBe(404)
    expect(unknown.json.error.code).toBe('request.not_found')
    expect((await admin(t, 'POST', '/admin/v1/requests/no-such-request/replay')).status).toBe(404)
  })
})

describe('admin API: replay', () => {
  it('delivers every request dead-lettered during a sink outage exactly once after a replay', async () => {
    const t = await start()
    const ids = ['c1', 'c2', 'c3', 'c4', 'c5']
    await deadLetter(t, 'shop', ...ids)
    expect(await deadIds(t)).toEqual(ids)

    // The sink is back: an operator replays everything from the CLI (progress on a terminal).
    const { stdout, stderr, error } = await cli(t, ['replay', '--all'], { tty: true })
    expect(error).toBeUndefined()
    expect(stdout).toBe('replayed 5 of 5 dead letters; folded 0 into waiting work, skipped 0 (no longer dead), failed 0\n')
    expect(stderr).toContain('replaying [')
    expect(stderr).toContain('5/5')

    const leases = await pull(t, ids.length)
    expect(leases.map((grant) => grant.recordId).sort()).toEqual(ids)
    await ack(t, leases, 'done')
    // Nothing comes back a second time.
    expect(await pull(t, 1)).toEqual([])
    const done = await admin<RequestPageResponse>(t, 'GET', '/admin/v1/requests?state=done')
    expect(done.json.items.map((item) => item.recordId).sort()).toEqual(ids)
    expect(await deadIds(t)).toEqual([])
  })

  it('replays by time range only the dead letters that died inside it', async () => {
    const t = await start()
    const base = Math.floor(Date.now() / 1000) * 1000 - 3 * 3_600_000
    const at = (minutes: number) => new Date(base + minutes * 60_000)
    t.setNow(at(0))
    await deadLetter(t, 'shop', 'before-1', 'before-2')
    t.setNow(at(60))
    await deadLetter(t, 'shop', 'inside-1', 'inside-2')
    await deadLetter(t, 'crm', 'inside-other-source')
    t.setNow(at(120))
    await deadLetter(t, 'shop', 'after-1')
    t.setNow(at(180))

    const reply = await admin<BulkReplayResponse>(t, 'POST', '/admin/v1/dead-letters/replay', { source: 'shop', since: at(30).toISOString(), until: at(90).toISOString() })
    expect(reply.status).toBe(200)
    expect(reply.json).toEqual({ replayed: 2, folded: 0, skipped: 0, failed: 0 })
    expect(await deadIds(t)).toEqual(['after-1', 'before-1', 'before-2', 'inside-other-source'])
    expect((await pull(t, 2)).map((grant) => grant.recordId).sort()).toEqual(['inside-1', 'inside-2'])
  })

  it('continues a bulk replay with the cursor when the limit is hit', async () => {
    const t = await start()
    await deadLetter(t, 'shop', 'a', 'b', 'c')
    const first = await admin<BulkReplayResponse>(t, 'POST', '/admin/v1/dead-letters/replay', { limit: 2 })
    expect(first.json).toMatchObject({ replayed: 2, cursor: expect.any(String) })
    const rest = await admin<BulkReplayResponse>(t, 'POST', '/admin/v1/dead-letters/replay', { limit: 2, cursor: first.json.cursor })
    expect(rest.json).toEqual({ replayed: 1, folded: 0, skipped: 0, failed: 0 })
  })
})

describe('admin: quiet-agent alert', () => {
  it('fires when no heartbeat came for longer than the threshold and clears when one comes', async () => {
    const t = await start()
    const base = Math.floor(Date.now() / 1000) * 1000
    const at = (seconds: number) => new Date(base + seconds * 1000)
    const memory: AlertMemory = {}
    const check = async (seconds: number) => {
      t.setNow(at(seconds))
      const before = t.logs.length
      const report = await checkAlerts(t.server.runtime, memory)
      return { report, logged: t.logs.slice(before).filter((line) => line.level !== 'debug'), gauge: t.server.runtime.counters.get('AgentSilentSeconds') }
    }
    const heartbeat = async (seconds: number) => {
      t.setNow(at(seconds))
      expect((await agentCall(t, '/agent/v1/heartbeat', { version: '0.1.0', inFlight: 0, hostname: 'erp-gw' })).status).toBe(200)
    }

    const never = await check(0)
    expect(never.report.agentSilent).toBe(true)
    expect(never.logged).toEqual([{ level: 'warn', message: expect.stringContaining('no hookferry agent has ever sent a heartbeat') }])

    await heartbeat(10)
    const alive = await check(60)
    expect(alive).toMatchObject({ report: { agentSilent: false, agentSilentSeconds: 50 }, gauge: 50 })
    expect(alive.logged).toEqual([{ level: 'info', message: expect.stringContaining('cleared') }])

    const quiet = await check(200)
    expect(quiet).toMatchObject({ report: { agentSilent: true, agentSilentSeconds: 190 }, gauge: 190 })
    expect(quiet.logged).toEqual([{ level: 'warn', message: expect.stringContaining('for 190 s (threshold 120 s)') }])
    expect((await check(260)).logged).toEqual([])

    await heartbeat(270)
    const back = await check(280)
    expect(back).toMatchObject({ report: { agentSilent: false, agentSilentSeconds: 10 }, gauge: 10 })
    expect(back.logged).toEqual([{ level: 'info', message: expect.stringContaining('cleared') }])

    const agents = await admin<AgentsResponse>(t, 'GET', '/admin/v1/agents')
    expect(agents.json.agents).toEqual([expect.objectContaining({ agentId: 'onprem-1', version: '0.1.0', hostname: 'erp-gw', inFlight: 0, silentSeconds: 10 })])
  })
})

describe('admin CLI', () => {
  it('lists requests and dead letters as aligned tables, and as JSON with --json', async () => {
    const t = await start()
    await deadLetter(t, 'shop', 'dead-1')
    await ingest(t, 'crm', 'waiting-1')

    const table = await cli(t, ['requests'])
    expect(table.error).toBeUndefined()
    const lines = table.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^ID\s+SOURCE\s+RECORD\s+STATE\s+ATTEMPTS\s+EVENTS\s+UPDATED\s+LAST ERROR$/)
    expect(lines).toHaveLength(3)
    expect(lines[1]).toMatch(/\scrm\s+waiting-1\s+queued\s+0\/3\s+1\s+\d+s ago$/)
    expect(lines[2]).toMatch(/\sshop\s+dead-1\s+dead\s+1\/3\s+1\s+\d+s ago\s+sink\.unavailable: ECONNREFUSED 10\.0\.0\.5:443$/)
    // Columns line up: every row starts its SOURCE column where the header does.
    const sourceColumn = lines[0]!.indexOf('SOURCE')
    for (const line of lines.slice(1)) expect(line.slice(sourceColumn - 2, sourceColumn)).toBe('  ')

    const json = await cli(t, ['requests', '--state', 'dead', '--json'])
    const page = JSON.parse(json.stdout) as RequestPageResponse
    expect(page.items).toEqual([expect.objectContaining({ source: 'shop', recordId: 'dead-1', state: 'dead', lastError: { code: 'sink.unavailable', message: 'ECONNREFUSED 10.0.0.5:443' } })])

    const dead = await cli(t, ['dead-letters', '--source', 'shop'])
    expect(dead.stdout).toMatch(/^ID\s+SOURCE\s+RECORD\s+ATTEMPTS\s+DIED\s+LAST ERROR\n\S+\s+shop\s+dead-1\s+1\/3/)
    expect((await cli(t, ['dead-letters', '--source', 'crm'])).stdout).toBe('no dead letters match\n')
  })

  it('shows one request with its attempts, replays it and discards another, in both modes', async () => {
    const t = await start()
    await deadLetter(t, 'shop', 'r1', 'r2')
    const [first, second] = (await admin<RequestPageResponse>(t, 'GET', '/admin/v1/requests?state=dead')).json.items

    const shown = await cli(t, ['show', first!.id])
    expect(shown.stdout).toContain(`request     ${first!.id}`)
    expect(shown.stdout).toMatch(/attempts\n#\s+AGENT\s+STARTED\s+DURATION\s+OUTCOME\s+ERROR\n1\s+onprem-1\s/)
    const shownJson = JSON.parse((await cli(t, ['show', first!.id, '--json'])).stdout) as RequestDetailResponse
    expect(shownJson.request.attemptHistory).toEqual([expect.objectContaining({ agentId: 'onprem-1', outcome: 'fail' })])

    expect((await cli(t, ['replay', first!.id])).stdout).toBe(`replayed ${first!.id}: queued again\n`)
    expect(JSON.parse((await cli(t, ['discard', second!.id, '--reason', 'deleted upstream', '--json'])).stdout)).toEqual({ requestId: second!.id, status: 'discarded' })
    expect((await admin<RequestDetailResponse>(t, 'GET', `/admin/v1/requests/${second!.id}`)).json.request).toMatchObject({ state: 'discarded', discardReason: 'deleted upstream (by admin)' })

    const again = await cli(t, ['replay', first!.id])
    expect(again.error).toMatchObject({ code: 'request.not_dead', statusCode: 409 })
    expect(again.error!.message).toMatch(/is queued, not dead-lettered/)
  })

  it('shows agents and the backlog, as a table and as JSON', async () => {
    const t = await start()
    expect((await agentCall(t, '/agent/v1/heartbeat', { version: '1.2.3', inFlight: 4, hostname: 'erp-gw' })).status).toBe(200)
    await ingest(t, 'shop', 'x', 'y')
    const table = await cli(t, ['agents'])
    expect(table.stdout).toMatch(/^AGENT\s+VERSION\s+HOST\s+IN FLIGHT\s+LAST HEARTBEAT\nonprem-1\s+1\.2\.3\s+erp-gw\s+4\s+\d+s ago\n\nbacklog: 2 queued, oldest waiting \d+s \(request \S+\)\n$/)
    const json = JSON.parse((await cli(t, ['agents', '--json'])).stdout) as AgentsResponse
    expect(json.backlog).toMatchObject({ queued: 2, retrying: 0, truncated: false })
    expect(json.agents).toEqual([expect.objectContaining({ agentId: 'onprem-1', version: '1.2.3', inFlight: 4 })])
  })

  it('fails with one line and no stack on a wrong token, a missing token or an unreachable server', async () => {
    const t = await start()
    const wrong = await cli(t, ['requests'], { token: 'hfa_wrong' })
    expect(wrong.error).toMatchObject({ code: 'auth.invalid_token', statusCode: 401, expose: true })
    expect(wrong.error!.message).toBe('the admin token is not valid (check HOOKFERRY_ADMIN_TOKEN or --token)')
    expect(wrong.stdout).toBe('')

    const missing = await cli(t, ['agents'], { token: '' })
    expect(missing.error).toMatchObject({ code: 'cli.missing_token', expose: true })

    const unreachable = await cli(t, ['agents', '--url', 'http://127.0.0.1:1'])
    expect(unreachable.error).toMatchObject({ code: 'cli.unreachable', expose: true })
    expect(unreachable.error!.message).not.toContain('\n')

    const usage = await cli(t, ['replay'])
    expect(usage.error).toMatchObject({ code: 'cli.usage' })
  })
})

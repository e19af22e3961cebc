import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { afterEach, describe, expect, it } from 'vitest'
import type { RequestPageResponse } from '../../lib/admin/admin-api.ts'
import { checkAlerts, type AlertMemory } from '../../lib/admin/alerts.ts'
import type { RunDetailResponse, RunPageResponse, StartSyncResponse, SyncsResponse } from '../../lib/admin/sync-api.ts'
import type { CliIo } from '../../lib/cli/commands/admin-client.ts'
import { registerAdminSyncCommands } from '../../lib/cli/commands/admin-syncs.ts'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import type { CheckpointResponse, LeaseGrant, SyncProgress } from '../../lib/relay/agent-api.ts'
import { sha256Hex } from '../../lib/relay/agent-auth.ts'
import type { Log } from '../../lib/relay/deps.ts'
import { ZERO_COUNTS } from '../../lib/relay/sync-types.ts'
import { startServer, type RunningServer } from '../../lib/server/serve.ts'
import { eventually } from '../support/wait.ts'

/** Scheduled sync over HTTP against a real `hookferry serve`: admin routes, the checkpoint route, the timer and the CLI. */
const ADMIN_TOKEN = 'hfx_sync-admin-token'
const AGENT_TOKEN = 'hfa_sync-agent-token'

interface TestServer {
  url: string
  server: RunningServer
  logs: { level: string; message: string }[]
}

let running: { server: RunningServer; dataDir: string }[] = []
afterEach(async () => {
  for (const { server, dataDir } of running) {
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
  running = []
})

async function start(jobs: Record<string, unknown> = { contacts: { schedule: '0 2 * * *', timezone: 'Europe/Berlin', fullEvery: 7 } }): Promise<TestServer> {
  const config = parseWithSchema(
    serverConfigSchema,
    {
      sources: { crm: { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id' }, jobs } },
      agents: [{ id: 'onprem-1', tokenSha256: sha256Hex(AGENT_TOKEN) }],
      adminTokenSha256: sha256Hex(ADMIN_TOKEN),
    },
    'test config',
  )
  const dataDir = mkdtempSync(join(tmpdir(), 'hookferry-sync-'))
  const logs: TestServer['logs'] = []
  const record = (level: string) => (message: string) => void logs.push({ level, message })
  const log: Log = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') }
  const server = await startServer({ config, dataDir, port: 0, log })
  running.push({ server, dataDir })
  return { url: server.url, server, logs }
}

async function call<T>(t: TestServer, method: 'GET' | 'POST', path: string, token: string, body?: unknown) {
  const response = await fetch(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  const text = await response.text()
  return { status: response.status, json: JSON.parse(text) as T & { error?: { code: string; message: string } } }
}
const admin = <T>(t: TestServer, method: 'GET' | 'POST', path: string, body?: unknown) => call<T>(t, method, path, ADMIN_TOKEN, body)
const agent = <T>(t: TestServer, path: string, body: unknown) => call<T>(t, 'POST', path, AGENT_TOKEN, body)

async function pullRun(t: TestServer): Promise<LeaseGrant> {
  const { json } = await agent<{ leases: LeaseGrant[] }>(t, '/agent/v1/pull', { max: 1, waitSeconds: 3 })
  expect(json.leases).toHaveLength(1)
  return json.leases[0]!
}
const progress = (read: number, checkpoint?: { cursor: string; key: string }): SyncProgress => ({ counts: { ...ZERO_COUNTS, read, written: read, pages: 1 }, errors: [], promote: true, ...(checkpoint ? { checkpoint } : {}) })

/** Runs the sync commands in-process, as `hookferry <args>` would. */
async function cli(t: TestServer, args: string[], options: { tty?: boolean } = {}) {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.tty ?? false },
    env: { HOOKFERRY_URL: t.url, HOOKFERRY_ADMIN_TOKEN: ADMIN_TOKEN },
    now: () => new Date(),
  }
  const program = new Command('hookferry').exitOverride().configureOutput({ writeOut: (text) => (stdout += text), writeErr: (text) => (stderr += text) })
  registerAdminSyncCommands(program, io, 50)
  const error = await program.parseAsync(args, { from: 'user' }).then(() => undefined, (caught: unknown) => caught as Error & { code?: string })
  return { stdout, stderr, error }
}

describe('sync admin API and checkpoint route', () => {
  it('starts a run, shows it running with its checkpoints, and records the finished run on the job', async () => {
    const t = await start()
    const before = await admin<SyncsResponse>(t, 'GET', '/admin/v1/syncs')
    expect(before.json.jobs).toEqual([
      expect.objectContaining({ source: 'crm', job: 'contacts', schedule: '0 2 * * *', timezone: 'Europe/Berlin', mode: 'incremental', fullEvery: 7, stalled: false }),
    ])
    expect(new Date(before.json.jobs[0]!.nextRunAt!).getUTCMinutes()).toBe(0)

    const started = await admin<StartSyncResponse>(t, 'POST', '/admin/v1/syncs/crm/contacts/start', { since: { cursor: '2026-01-01T00:00:00Z' } })
    expect(started).toMatchObject({ status: 200, json: { status: 'created' } })
    const lease = await pullRun(t)
    expect(lease.sync).toMatchObject({ runId: started.json.runId, job: 'contacts', mode: 'incremental', after: { cursor: '2026-01-01T00:00:00Z', key: '' } })

    const checkpoint = { cursor: '2026-01-05T00:00:00Z', key: 'c-7' }
    expect((await agent<CheckpointResponse>(t, '/agent/v1/checkpoint', { lease: lease.lease, progress: { ...progress(1000, checkpoint), errors: [{ key: 'c-3', code: 'sink.rejected', message: 'bad email', at: '2026-01-05T00:00:00Z' }] } })).json).toEqual({ status: 'ok' })
    const during = await admin<SyncsResponse>(t, 'GET', '/admin/v1/syncs')
    expect(during.json.jobs[0]).toMatchObject({ watermark: checkpoint, running: { id: started.json.runId, state: 'leased', counts: { read: 1000 }, chunks: 1, leasedBy: 'onprem-1' } })
    const detail = await admin<RunDetailResponse>(t, 'GET', `/admin/v1/runs/${started.json.runId}`)
    expect(detail.json.run).toMatchObject({ checkpoint, startWatermark: { cursor: '2026-01-01T00:00:00Z', key: '' }, errorCount: 1, errors: [{ key: 'c-3', message: 'bad email' }], trigger: 'admin' })

    const final = { cursor: '2026-01-06T00:00:00Z', key: 'c-9' }
    await agent(t, '/agent/v1/ack', { acks: [{ lease: lease.lease, outcome: 'done', sync: progress(1500, final) }] })
    const after = await admin<SyncsResponse>(t, 'GET', '/admin/v1/syncs')
    expect(after.json.jobs[0]).toMatchObject({ watermark: final, lastRun: { id: started.json.runId, state: 'done', counts: { read: 1500 } } })
    expect(after.json.jobs[0]!.running).toBeUndefined()
    expect(after.json.jobs[0]!.watermarkAgeSeconds).toBeLessThan(5)
    expect(t.server.runtime.counters.get('SyncRunRecordsRead')).toBe(1500)
    expect(t.logs).toContainEqual({ level: 'info', message: 'sync crm/contacts: run done: 1500 read, 1500 written, 0 rejected' })
    const runs = await admin<RunPageResponse>(t, 'GET', '/admin/v1/runs?source=crm&job=contacts')
    expect(runs.json.items).toEqual([expect.objectContaining({ id: started.json.runId, state: 'done', job: 'contacts', finishedAt: expect.any(String) })])
    // Runs are requests too: the requests list shows them, with their job as the record.
    const requests = await admin<RequestPageResponse>(t, 'GET', '/admin/v1/requests?source=crm')
    expect(requests.json.items).toEqual([expect.objectContaining({ id: started.json.runId, recordType: '@sync', recordId: 'contacts' })])

    // The records that failed in that run are read again, by id.
    expect((await cli(t, ['sync', 'start', 'crm/contacts', '--retry-errors', started.json.runId])).stdout).toMatch(/^started run \S+ of crm\/contacts\n$/)
    expect((await pullRun(t)).sync).toMatchObject({ ids: ['c-3'] })
  })

  it('answers bad input, unknown jobs and runs, resets during a run and a cancelled lease with clear errors', async () => {
    const t = await start()
    expect((await admin(t, 'POST', '/admin/v1/syncs/crm/nope/start', {})).json.error).toMatchObject({ code: 'sync.job_not_found' })
    expect((await admin(t, 'POST', '/admin/v1/syncs/crm/constructor/start', {})).json.error).toMatchObject({ code: 'sync.job_not_found' })
    expect((await admin(t, 'POST', '/admin/v1/syncs/crm/contacts/start', { full: true, since: { cursor: 1 } })).json.error).toMatchObject({ code: 'request.invalid', message: expect.stringContaining('body: since: a full run reads everything') })
    expect((await admin(t, 'GET', '/admin/v1/runs?job=contacts')).status).toBe(400)
    expect((await admin(t, 'GET', '/admin/v1/runs/no-such-run')).json.error).toMatchObject({ code: 'run.not_found' })
    expect((await agent<CheckpointResponse>(t, '/agent/v1/checkpoint', { lease: 'garbage', progress: progress(1) })).json).toEqual({ status: 'invalid_lease' })
    expect((await agent(t, '/agent/v1/checkpoint', { lease: 'x', progress: { counts: { read: -1 } } })).status).toBe(400)

    const { json: started } = await admin<StartSyncResponse>(t, 'POST', '/admin/v1/syncs/crm/contacts/start', { ids: ['c-1', 'c-2'] })
    const lease = await pullRun(t)
    expect(lease.sync).toMatchObject({ ids: ['c-1', 'c-2'] })
    const reset = await admin(t, 'POST', '/admin/v1/syncs/crm/contacts/reset', { to: { cursor: '2026-01-01' } })
    expect(reset).toMatchObject({ status: 409, json: { error: { code: 'sync.run_active' } } })

    expect((await admin(t, 'POST', `/admin/v1/runs/${started.runId}/cancel`)).json).toEqual({ runId: started.runId, status: 'cancelled' })
    expect((await agent<CheckpointResponse>(t, '/agent/v1/checkpoint', { lease: lease.lease, progress: progress(1) })).json).toEqual({ status: 'lease_lost' })
    expect((await admin(t, 'POST', `/admin/v1/runs/${started.runId}/cancel`)).json.error).toMatchObject({ code: 'run.not_active' })
    expect((await admin(t, 'POST', '/admin/v1/syncs/crm/contacts/reset', { to: { cursor: '2026-01-01', key: 'k' } })).json).toEqual({ source: 'crm', job: 'contacts', watermark: { cursor: '2026-01-01', key: 'k' } })
  })

  it('schedules runs with the serve timer: a job with firstRun immediately runs at start', async () => {
    const t = await start({ minutely: { schedule: '* * * * *', firstRun: 'immediately', lagSeconds: 0 } })
    const lease = await pullRun(t)
    expect(lease).toMatchObject({ recordId: 'minutely', events: [expect.objectContaining({ event: 'sync.schedule' })], sync: { job: 'minutely', mode: 'incremental' } })
    const { json } = await admin<SyncsResponse>(t, 'GET', '/admin/v1/syncs')
    expect(json.jobs[0]).toMatchObject({ job: 'minutely', lastScheduledAt: expect.any(String), running: { id: lease.requestId } })
  })

  it('emits the watermark lag per job and warns once when a job stalls', async () => {
    const t = await start({ minutely: { schedule: '* * * * *', alertAfterIntervals: 2 } })
    await eventually('the scheduler saw the job', async () => (await admin<SyncsResponse>(t, 'GET', '/admin/v1/syncs')).json.jobs[0]?.lastScheduledAt)
    const gauges: { name: string; value: number; dimensions?: Record<string, string> }[] = []
    const runtime = t.server.runtime
    const later = new Date(Date.now() + 5 * 60_000)
    const deps = { ...runtime, now: () => later, metrics: { count() {}, gauge: (name: string, value: number, _unit?: string, dimensions?: Record<string, string>) => void gauges.push({ name, value, ...(dimensions ? { dimensions } : {}) }) } }
    const memory: AlertMemory = {}
    expect((await checkAlerts(deps, memory)).syncJobsStalled).toEqual(['crm/minutely'])
    await checkAlerts(deps, memory)
    expect(gauges).toContainEqual({ name: 'SyncWatermarkLagSeconds', value: expect.any(Number), dimensions: { source: 'crm', job: 'minutely' } })
    expect(gauges).toContainEqual({ name: 'SyncJobsStalled', value: 1 })
    expect(t.logs.filter((line) => line.level === 'warn' && line.message.includes('crm/minutely: the watermark has not moved'))).toHaveLength(1)
  })
})

describe('sync CLI against serve', () => {
  it('lists jobs, starts a run and waits for it with a progress line, lists and shows runs', async () => {
    const t = await start()
    expect((await cli(t, ['syncs'])).stdout).toMatch(/^JOB\s+SCHEDULE\s+MODE\s+NEXT RUN\s+LAST RUN\s+WATERMARK\s+AGE\s+NOW\ncrm\/contacts\s+0 2 \* \* \* \(Europe\/Berlin\)\s+incremental, full every 7\s+in \S+.*never/)

    const waiting = cli(t, ['sync', 'start', 'crm/contacts', '--full', '--wait'], { tty: true })
    const lease = await pullRun(t)
    expect(lease.sync).toMatchObject({ mode: 'full' })
    await agent(t, '/agent/v1/checkpoint', { lease: lease.lease, progress: progress(700, { cursor: '2026-02-01', key: 'a' }) })
    await new Promise((resolve) => setTimeout(resolve, 300))
    await agent(t, '/agent/v1/ack', { acks: [{ lease: lease.lease, outcome: 'done', sync: progress(900, { cursor: '2026-02-02', key: 'b' }) }] })
    const waited = await waiting
    expect(waited.error).toBeUndefined()
    expect(waited.stdout).toMatch(new RegExp(`^started run ${lease.requestId} of crm/contacts\\nrun ${lease.requestId} done in \\d+s: 900 read, 900 written, 0 unchanged, 0 rejected, 1 pages\\n$`))
    // Redrawn in place: carriage return, erase the line, then the progress.
    expect(waited.stderr.split('\r\u001b[K')).toContainEqual(expect.stringMatching(/^crm\/contacts . 700 records {2}[\d,]+\/s {2}1 pages {2}700 written {2}\d+s$/))

    const list = await cli(t, ['runs', '--source', 'crm', '--job', 'contacts'])
    expect(list.stdout).toMatch(new RegExp(`^ID\\s+JOB\\s+STATE\\s+MODE\\s+TRIGGER\\s+READ\\s+WRITTEN\\s+REJECTED\\s+DURATION\\s+UPDATED\\s+LAST ERROR\\n${lease.requestId}\\s+crm/contacts\\s+done\\s+full\\s+admin\\s+900\\s+900\\s+0`))
    const shown = await cli(t, ['runs', 'show', lease.requestId])
    expect(shown.stdout).toContain('checkpoint  2026-02-02,b')
    expect(shown.stdout).toMatch(/READ\s+WRITTEN\s+UNCHANGED\s+STALE\s+REJECTED\s+DELETED\s+PAGES\s+CHUNKS\n\s*900\s+900\s+0\s+0\s+0\s+0\s+1\s+1/)
    expect(JSON.parse((await cli(t, ['runs', 'show', lease.requestId, '--json'])).stdout)).toMatchObject({ run: { id: lease.requestId, state: 'done' } })
    expect((await cli(t, ['sync', 'start', 'crm/contacts', '--retry-errors', lease.requestId])).error).toMatchObject({ code: 'sync.no_errors' })
  })

  it('resets the watermark, cancels a run, and fails a wait on a run that does not end done', async () => {
    const t = await start()
    expect((await cli(t, ['sync', 'reset', 'crm/contacts', '--to', '2026-03-01T00:00:00Z,cus_9'])).stdout).toBe('crm/contacts: watermark set to 2026-03-01T00:00:00Z,cus_9\n')
    expect((await cli(t, ['sync', 'reset', 'crm/contacts'])).error).toMatchObject({ code: 'cli.usage' })
    expect((await cli(t, ['sync', 'start', 'contacts'])).error).toMatchObject({ code: 'commander.invalidArgument' })

    const waiting = cli(t, ['sync', 'start', 'crm/contacts', '--wait'])
    const lease = await pullRun(t)
    expect(lease.sync?.after).toEqual({ cursor: '2026-03-01T00:00:00Z', key: 'cus_9' })
    expect((await cli(t, ['sync', 'cancel', lease.requestId])).stdout).toBe(`cancelled ${lease.requestId}\n`)
    const waited = await waiting
    expect(waited.error).toMatchObject({ code: 'sync.run_failed', message: `run ${lease.requestId} ended discarded: cancelled by admin` })
    expect((await cli(t, ['sync', 'cancel', lease.requestId])).error).toMatchObject({ code: 'run.not_active' })
    expect((await cli(t, ['sync', 'reset', 'crm/contacts', '--clear'])).stdout).toContain('watermark cleared')
  })
})

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listApiId, startFakeListApi, type FakeListApi, type GeneratedRecords } from '../support/fake-list-api.ts'
import { startRelay, webhookSource, type Relay } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/**
 * Scheduled sync end to end, real processes: `hookferry serve` schedules the job, `hookferry agent`
 * reads the fake paginated list API over HTTP and appends to a file sink.
 */
const scope = useTestScope()

interface Line {
  op: string
  recordId: string
  version?: string
  record?: { updated_at?: string; name?: string }
}

async function setUp(options: { generated?: GeneratedRecords; schedule?: string; pageSize?: number }): Promise<{ api: FakeListApi; relay: Relay; sinkFile: string; startAgent: (name?: string) => ReturnType<Relay['startAgent']>; lines: () => Line[] }> {
  const api = await startFakeListApi(options.generated ? { generated: options.generated } : {})
  scope.defer(() => api.close())
  const relay = await startRelay(scope, {
    sources: { crm: webhookSource({ jobs: { nightly: { schedule: options.schedule ?? '0 3 * * *', firstRun: 'immediately', lagSeconds: 0 } } }) },
  })
  const sinkFile = join(relay.dir, 'sink.jsonl')
  const agentSources = {
    crm: {
      fetch: { type: 'http', url: `${api.url}/items/{id}` },
      list: { type: 'http', url: `${api.url}/items?style=keyset&since={since}&since_id={sinceKey}&until={until}&limit={pageSize}`, items: 'data', pagination: { type: 'since' }, order: 'cursor-key', pageSize: options.pageSize ?? 1000 },
      sync: { chunkSize: options.pageSize ?? 1000, checkpointEveryMs: 0 },
      deliver: { type: 'file', path: sinkFile },
    },
  }
  const lines = () => {
    try {
      return readFileSync(sinkFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line)
    } catch {
      return []
    }
  }
  return { api, relay, sinkFile, lines, startAgent: (name) => relay.startAgent({ sources: agentSources }, name) }
}

function countsById(lines: Line[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const line of lines) counts.set(line.recordId, (counts.get(line.recordId) ?? 0) + 1)
  return counts
}

describe('scheduled sync runs', () => {
  it('delivers 5,000 records sharing one updated_at across page boundaries exactly once', { timeout: 60_000 }, async () => {
    const { startAgent, lines } = await setUp({ generated: { count: 5300, perTimestamp: 5000, start: '2026-01-01T00:00:00.000Z' } })
    const agent = await startAgent()
    await agent.waitForLog('the run finished', (line) => line.msg === 'sync run finished', 45_000)
    const counts = countsById(lines())
    expect(counts.size).toBe(5300)
    expect([...counts.values()].every((count) => count === 1)).toBe(true)
    const finished = agent.logsWith('sync run finished')[0]!
    expect(finished).toMatchObject({ job: 'nightly', counts: { read: 5300, written: 5300, pages: 6 } })
  })

  it('resumes a run after SIGKILLs of the agent: every record lands, the checkpoint never lost a committed chunk', { timeout: 120_000 }, async () => {
    const { api, startAgent, lines } = await setUp({ generated: { count: 3000, perTimestamp: 40, start: '2026-01-01T00:00:00.000Z' }, pageSize: 200 })
    api.pageDelayMs = 150
    for (let kill = 1; kill <= 2; kill += 1) {
      const agent = await startAgent(`agent (killed #${kill})`)
      const before = lines().length
      await eventually(`more records delivered before kill #${kill}`, () => lines().length >= before + 400, { timeoutMs: 30_000 })
      expect((await agent.kill()).signal).toBe('SIGKILL')
    }
    api.pageDelayMs = 0
    const last = await startAgent('agent (after the crashes)')
    await last.waitForLog('the resumed run finished', (line) => line.msg === 'sync run finished', 60_000)
    const counts = countsById(lines())
    expect(counts.size).toBe(3000)
    // A resumed run starts at its last checkpoint: at most the chunk in flight at each kill comes again.
    const repeated = [...counts.values()].filter((count) => count > 1).length
    expect(repeated).toBeLessThanOrEqual(2 * 2 * 200)
    const started = last.logsWith('sync run started')[0]!
    expect(started.after).toBeDefined()
  })

  it('retries 429 and 500 mid-pagination and honours Retry-After', { timeout: 60_000 }, async () => {
    const { api, startAgent, lines } = await setUp({ generated: { count: 2500, start: '2026-01-01T00:00:00.000Z' } })
    api.onPage = (call) => {
      if (call === 1) api.script({ status: 429, headers: { 'retry-after': '2' } }, { status: 500 })
    }
    const agent = await startAgent()
    await agent.waitForLog('the run finished', (line) => line.msg === 'sync run finished', 45_000)
    expect(countsById(lines()).size).toBe(2500)
    const statuses = api.calls.map((call) => call.status)
    expect(statuses.slice(0, 5)).toEqual([200, 200, 429, 500, 200])
    expect(api.calls[3]!.at - api.calls[2]!.at).toBeGreaterThanOrEqual(1900)
  })

  it('picks up records changed during a run in the next run, never losing them', { timeout: 90_000 }, async () => {
    const { api, startAgent, lines } = await setUp({ schedule: '*/3 * * * * *', pageSize: 100 })
    api.put(...Array.from({ length: 300 }, (_, index) => ({ id: listApiId(index), updated_at: `2026-01-01T00:00:00.${String(index).padStart(3, '0')}Z`, name: 'v1' })))
    let changed = false
    api.onPage = (call) => {
      if (call !== 1 || changed) return
      changed = true
      // Already read (page 1) and not yet read: both change now, after the run's upper bound.
      const now = new Date().toISOString()
      api.put({ id: listApiId(5), updated_at: now, name: 'v2' }, { id: listApiId(250), updated_at: now, name: 'v2' })
    }
    const agent = await startAgent()
    await eventually('a second run finished', () => agent.logsWith('sync run finished').length >= 2, { timeoutMs: 60_000 })
    const ids = lines().filter((line) => line.record?.name === 'v2').map((line) => line.recordId).sort()
    expect(ids).toEqual([listApiId(5), listApiId(250)])
    expect(countsById(lines()).size).toBe(300)
    // The first run stopped at its upper bound: the change to 250 waited for the next run.
    expect(agent.logsWith('sync run finished')[0]).toMatchObject({ counts: { read: 299 } })
  })
})

import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildDashboard, CHROMIUM, CHROMIUM_MISSING, launchBrowser, SCREENSHOT_DIR } from '../support/browser.ts'
import { startFakeSaas } from '../support/fake-saas.ts'
import { startFakeSink } from '../support/fake-sink.ts'
import { startHttpTestServer } from '../support/http-test-server.ts'
import type { LeaseGrant, SyncProgress } from '../../lib/relay/agent-api.ts'
import { ZERO_COUNTS } from '../../lib/relay/sync-types.ts'
import { ADMIN_TOKEN, AGENT_TOKEN, requestIdsOf, startRelay, webhookSource, type Relay } from '../support/relay-harness.ts'
import { REPO_ROOT, spawnHookferry } from '../support/processes.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/**
 * The dashboard in headless Chromium against a real `hookferry serve`, a real agent process, a
 * fake SaaS and a fake sink over HTTP. Each test leaves a screenshot under test-output/dashboard/.
 */
const scope = useTestScope()
/** Runs in the page (a string: the test's types have no DOM): controls without a label or accessible name. */
const UNLABELLED_CONTROLS = `[
  ...[...document.querySelectorAll('input, select, textarea')].filter((c) => c.labels?.length === 0 && !c.getAttribute('aria-label')),
  ...[...document.querySelectorAll('button, a[href]')].filter((c) => !c.textContent.trim() && !c.getAttribute('aria-label')),
  ...[...document.querySelectorAll('svg')].filter((c) => !c.getAttribute('aria-label')),
].map((c) => c.outerHTML.slice(0, 120))`
const available = existsSync(CHROMIUM)

if (!available) {
  // CI installs Chromium (.ci/run): missing there is a failure; on a laptop, a skip that says how to fix it.
  if (process.env.CI === 'true') it('needs headless Chromium', () => expect.fail(CHROMIUM_MISSING))
  else it.skip(CHROMIUM_MISSING, () => undefined)
}

describe.skipIf(!available)('the dashboard', () => {
  let browser: Awaited<ReturnType<typeof launchBrowser>>
  let context: BrowserContext
  beforeAll(async () => {
    await buildDashboard()
    browser = await launchBrowser()
    context = browser.context
  }, 60_000)
  afterAll(() => browser?.close())

  /** A relay whose one source is fetched from a fake SaaS and delivered to a fake sink by a real agent. */
  async function startSystem(options: { maxAttempts?: number; server?: Record<string, unknown> } = {}) {
    const saas = await startFakeSaas(scope)
    const sink = await startFakeSink(scope)
    const relay = await startRelay(scope, { sources: { crm: webhookSource({ maxAttempts: options.maxAttempts ?? 3 }) }, ...(options.server ? { server: options.server } : {}) })
    const agent = await relay.startAgent({
      sources: { crm: { fetch: { type: 'http', url: saas.recordUrl('customers'), auth: { type: 'bearer', token: '${SAAS_TOKEN}' } }, deliver: { type: 'http', url: `${sink.url}/customers/{id}`, method: 'PUT' } } },
      env: { SAAS_TOKEN: saas.token },
    })
    return { saas, sink, relay, agent }
  }

  /** A fresh tab; every URL it requests is kept, to prove the token never travels in one. */
  async function openPage(): Promise<{ page: Page; urls: string[] }> {
    const page = await context.newPage()
    const urls: string[] = []
    page.on('request', (request) => void urls.push(request.url()))
    // Script errors and CSP violations fail the test; a refused sign-in (HTTP 401) is not an error of the page.
    const errors: string[] = []
    page.on('pageerror', (error) => void errors.push(String(error)))
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) errors.push(message.text())
    })
    scope.defer(async () => {
      await page.close()
      expect(errors, 'errors in the page').toEqual([])
    })
    return { page, urls }
  }

  async function signIn(page: Page, relay: Relay): Promise<void> {
    await page.goto(`${relay.url}/ui/`)
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('navigation', { name: 'Screens' }).waitFor()
  }

  /** The admin token is in sessionStorage and nowhere else: not the URL, the page, a request URL or serve's log. */
  async function expectTokenKeptSecret(page: Page, urls: readonly string[], relay: Relay): Promise<void> {
    expect(page.url()).not.toContain(ADMIN_TOKEN)
    expect(await page.content()).not.toContain(ADMIN_TOKEN)
    for (const url of urls) expect(url).not.toContain(ADMIN_TOKEN)
    expect(relay.serve.stdout + relay.serve.stderr).not.toContain(ADMIN_TOKEN)
  }

  /** Each screenshot also checks the screen's basics: every control labelled, every button named, every chart described. */
  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })
    const unlabelled = await page.evaluate<string[]>(UNLABELLED_CONTROLS)
    expect(unlabelled, `${name}: controls without a label or name`).toEqual([])
  }

  it('serves the page and its bundles with their content types, caching and a strict CSP', async () => {
    const { relay } = await startSystem()
    // serve says where the dashboard is (the admin API is on in this config).
    await eventually('serve naming the dashboard', () => relay.serve.stderr.includes(`dashboard at ${relay.url}/ui/`))
    const page = await fetch(`${relay.url}/ui/`, { headers: { 'accept-encoding': 'gzip' } })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('cache-control')).toBe('no-cache')
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'")
    const html = await page.text()
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    expect(script).toBeDefined()
    const bundle = await fetch(`${relay.url}${script}`, { headers: { 'accept-encoding': 'gzip' } })
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(bundle.headers.get('content-encoding')).toBe('gzip')
    expect(bundle.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const again = await fetch(`${relay.url}${script}`, { headers: { 'if-none-match': bundle.headers.get('etag')! } })
    expect(again.status).toBe(304)
    expect((await fetch(`${relay.url}/ui`)).status).toBe(200)
    const missing = await fetch(`${relay.url}/ui/assets/nope.js`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { code: 'route.not_found' } })

    // The admin routes the dashboard added answer like the others: the token first, then strict queries.
    expect((await fetch(`${relay.url}/admin/v1/overview`)).status).toBe(401)
    const typo = await fetch(`${relay.url}/admin/v1/dead-letters?sorce=crm`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect([typo.status, ((await typo.json()) as { error: { code: string } }).error.code]).toEqual([400, 'request.invalid'])
    expect(await relay.admin('/admin/v1/dead-letters?source=crm')).toEqual({ total: 0, groups: [], truncated: false })
  })

  it('refuses a missing or wrong token with a sign-in error, then signs in and shows the overview', async () => {
    const { relay } = await startSystem()
    const { page, urls } = await openPage()
    await page.goto(`${relay.url}/ui/`)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Enter the admin token')
    await page.getByLabel('Admin token').fill('hfx_not-the-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('auth.invalid_token')
    await shot(page, 'sign-in-error')

    // Keyboard only: the token field has the focus after an error, Enter submits.
    await page.getByLabel('Admin token').fill('')
    await page.keyboard.type(ADMIN_TOKEN)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    await page.getByRole('link', { name: /Agents\s+1 up · 0 silent/ }).waitFor()
    expect(await page.evaluate(() => sessionStorage.getItem('hookferry.adminToken'))).toBe(ADMIN_TOKEN)
    await shot(page, 'overview')
    // The skip link moves the focus to the content and leaves the route alone.
    const route = page.url()
    await page.locator('a.skip').focus()
    await page.keyboard.press('Enter')
    expect(await page.evaluate('document.activeElement.id')).toBe('main')
    expect(page.url()).toBe(route)
    await page.getByRole('heading', { name: 'Overview' }).waitFor()
    await page.setViewportSize({ width: 390, height: 844 })
    await shot(page, 'overview-phone')
    await expectTokenKeptSecret(page, urls, relay)
    // The wrong token was logged as rejected, without itself.
    expect(relay.serve.logsWith('admin API request rejected').length).toBeGreaterThan(0)
    expect(relay.serve.stdout).not.toContain('hfx_not-the-token')
  })

  it('shows a request arriving live and opens its timeline', async () => {
    const { saas, relay, agent } = await startSystem()
    const { page, urls } = await openPage()
    await signIn(page, relay)
    await page.getByRole('link', { name: 'Requests', exact: true }).click()
    await page.getByText('No request yet.').waitFor()
    await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true))

    saas.change('customers', 'cus_live', { name: 'Ada Lovelace' })
    const [requestId] = requestIdsOf(await relay.recordChanged('crm', 'cus_live', 'customer.updated'))
    const row = page.locator(`tr[data-request-id="${requestId}"]`)
    await row.waitFor({ timeout: 10_000 })
    await eventually('the delivery done', () => agent.logsWith('request done').some((line) => line.requestId === requestId))
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('done')
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true)
    await shot(page, 'requests')

    await row.getByRole('link', { name: 'cus_live' }).click()
    await page.getByRole('heading', { name: 'Timeline' }).waitFor()
    const timeline = page.locator('ol.timeline')
    await expect.poll(() => timeline.textContent()).toContain('Webhook received: customer.updated')
    expect(await timeline.textContent()).toMatch(/Attempt 1 by e2e-agent: done/)
    expect(page.url()).toContain(`#/requests/${requestId}`)
    await shot(page, 'request-timeline')
    await expectTokenKeptSecret(page, urls, relay)
  })

  it('dead-letters a request via a failing sink, replays it from the page, replays a filtered set and discards with a reason', async () => {
    const { saas, sink, relay } = await startSystem({ maxAttempts: 2 })
    // The on-prem system rejects the records (a 4xx is final: no retry), until it is fixed.
    const accept = sink.reply
    sink.reply = () => ({ status: 422, body: { error: 'customer fails validation' } })
    const deadIds: string[] = []
    for (const id of ['cus_a', 'cus_b', 'cus_c', 'cus_d']) {
      saas.change('customers', id, { name: id })
      deadIds.push(...requestIdsOf(await relay.recordChanged('crm', id)))
    }
    for (const id of deadIds) await relay.requestIn(id, 'dead')

    const { page, urls } = await openPage()
    await signIn(page, relay)
    await page.getByRole('link', { name: 'Dead letters', exact: true }).click()
    const groups = page.getByRole('region', { name: 'Dead letters by source and error code' })
    await expect.poll(() => groups.textContent()).toMatch(/crm\s*agent\.deliver_failed\s*4/)
    await shot(page, 'dead-letters')
    // The README's picture (examples/dashboard.png is a copy): a laptop-sized window, no scrolling.
    await page.setViewportSize({ width: 1000, height: 640 })
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'readme.png') })
    await page.setViewportSize({ width: 1280, height: 860 })

    // The sink is fixed: replay one from its row.
    sink.reply = accept
    await page.locator(`tr[data-request-id="${deadIds[0]}"]`).getByRole('button', { name: 'Replay' }).click()
    await expect.poll(() => page.locator('p.notice').textContent()).toContain('cus_a: Replayed')
    await relay.requestIn(deadIds[0]!, 'done')
    expect(sink.accepted('cus_a')).toHaveLength(1)

    // Discard one, with a reason.
    const discardRow = page.locator(`tr[data-request-id="${deadIds[3]}"]`)
    await discardRow.getByRole('button', { name: 'Discard…' }).click()
    await discardRow.getByRole('button', { name: 'Discard for good' }).click()
    await expect.poll(() => discardRow.textContent()).toContain('Give a reason')
    await discardRow.getByLabel('Reason for discarding').fill('customer deleted in the CRM')
    await discardRow.getByRole('button', { name: 'Discard for good' }).click()
    expect((await relay.requestIn(deadIds[3]!, 'discarded')).discardReason).toBe('customer deleted in the CRM (by admin)')

    // Replay the filtered set (the group): progress, then a summary.
    await page.getByRole('link', { name: /Show the 2 dead letters of crm/ }).click()
    await page.getByRole('button', { name: 'Replay all matching' }).click()
    await expect.poll(() => page.locator('.progress-box').textContent(), { timeout: 15_000 }).toContain('Replayed 2 of 2 dead letters; folded 0 into waiting work, skipped 0 (no longer dead), failed 0.')
    expect(await page.locator('progress').getAttribute('value')).toBe('2')
    await shot(page, 'dead-letters-replayed')
    for (const id of deadIds.slice(1, 3)) await relay.requestIn(id, 'done')
    expect(sink.accepted('cus_b')).toHaveLength(1)
    expect(sink.accepted('cus_c')).toHaveLength(1)
    await page.getByText('No dead letter matches these filters.').waitFor()

    // The overview counts that hour: 4 webhooks, 3 delivered, 4 failed attempts, nothing dead any more.
    await page.getByRole('link', { name: 'Overview', exact: true }).click()
    await page.getByRole('link', { name: /^Webhooks\s*4\s/ }).waitFor()
    await page.getByRole('link', { name: /^Deliveries\s*3\s*delivered in the last hour · 4 failed attempts/ }).waitFor()
    await page.getByRole('link', { name: /^Dead letters\s*0\s/ }).waitFor()
    await shot(page, 'overview-traffic')
    await expectTokenKeptSecret(page, urls, relay)
  })

  it('shows an agent that went silent, unmistakably', async () => {
    const { relay, agent } = await startSystem({ server: { alerts: { agentSilentSeconds: 10 } } })
    const { page, urls } = await openPage()
    await signIn(page, relay)
    await page.getByRole('link', { name: 'Agents', exact: true }).click()
    const row = page.locator('tr[data-agent-id="e2e-agent"]')
    await expect.poll(() => row.textContent()).toContain('Up')
    await shot(page, 'agents')

    await agent.stop()
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toMatch(/Silent for \d+ s/)
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('1 agent is silent')
    expect(await row.getAttribute('class')).toBe('row-silent')
    await shot(page, 'agents-silent')
    await expectTokenKeptSecret(page, urls, relay)
  }, 60_000)
  it('starts a sync run from the page and follows its progress to the end', async () => {
    const relay = await startRelay(scope, { sources: { crm: webhookSource({ jobs: { contacts: { schedule: '0 2 * * *', timezone: 'Europe/Berlin' } } }) } })
    // The agent's side of the run over the agent API, chunk by chunk, as an agent with a list connector does it.
    const agentCall = async <T>(path: string, body: unknown): Promise<T> => {
      const response = await fetch(`${relay.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${AGENT_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect(response.status, await response.clone().text()).toBe(200)
      return (await response.json()) as T
    }
    const progress = (read: number, rejected: number, cursor: string): SyncProgress => ({ counts: { ...ZERO_COUNTS, read, written: read - rejected, rejected, pages: Math.ceil(read / 500) }, errors: [], promote: true, checkpoint: { cursor, key: `c-${read}` } })

    const { page, urls } = await openPage()
    await signIn(page, relay)
    await page.getByRole('link', { name: 'Syncs', exact: true }).click()
    const job = page.locator('tr[data-job="crm/contacts"]')
    await expect.poll(() => job.textContent()).toContain('no run yet')
    await job.getByRole('button', { name: 'Start run' }).click()
    await expect.poll(() => page.locator('p.notice').textContent()).toContain('crm/contacts: run started')

    const { leases } = await agentCall<{ leases: LeaseGrant[] }>('/agent/v1/pull', { max: 1, waitSeconds: 5 })
    expect(leases).toHaveLength(1)
    const lease = leases[0]!.lease
    await agentCall('/agent/v1/checkpoint', { lease, progress: progress(1000, 0, '2026-01-05T00:00:00Z') })
    await expect.poll(() => job.textContent(), { timeout: 10_000 }).toMatch(/running\s*1,000 read · 1,000 written · 0 rejected/)
    await shot(page, 'syncs-running')

    await job.getByRole('link', { name: /1,000 read/ }).click()
    const runProgress = page.locator('.progress-text')
    await expect.poll(() => runProgress.textContent()).toBe('1,000 read · 1,000 written · 0 rejected')
    await agentCall('/agent/v1/checkpoint', { lease, progress: progress(2500, 3, '2026-01-06T00:00:00Z') })
    await expect.poll(() => runProgress.textContent(), { timeout: 10_000 }).toBe('2,500 read · 2,497 written · 3 rejected')
    expect(await page.locator('dl.facts').textContent()).toContain('Chunks committed2')
    await agentCall('/agent/v1/ack', { acks: [{ lease, outcome: 'done', sync: progress(3000, 3, '2026-01-07T00:00:00Z') }] })
    await expect.poll(() => page.locator('dl.facts').textContent(), { timeout: 10_000 }).toMatch(/Statedone/)
    expect(await runProgress.textContent()).toBe('3,000 read · 2,997 written · 3 rejected')
    await shot(page, 'sync-run')

    // Back on the list: the last run, the watermark it left, and a reset that asks first.
    await page.getByRole('link', { name: '← Syncs' }).click()
    await expect.poll(() => job.textContent()).toContain('2026-01-07T00:00:00Z / c-3000')
    await job.getByRole('button', { name: 'Reset watermark…' }).click()
    await job.getByRole('button', { name: 'Yes, reset' }).click()
    await expect.poll(() => page.locator('p.notice').textContent()).toContain('watermark reset')
    await expect.poll(() => job.textContent()).toContain('none (reads from the beginning)')
    await shot(page, 'syncs')
    await expectTokenKeptSecret(page, urls, relay)
  })
  it('opens from `npm start`: the demo prints where the dashboard is and keeps its token in a file, not on screen', async () => {
    const dataDir = scope.tempDir('hookferry-demo-')
    const demo = spawnHookferry(scope, ['demo', '--port', '0', '--data-dir', dataDir, '--no-auto-changes'], { name: 'demo', cwd: REPO_ROOT })
    const [, url, tokenFile] = await demo.waitForOutput(/^ {2}dashboard {3}(\S+) {2}\(sign in with the admin token in (\S+)\)$/m)
    const token = readFileSync(join(REPO_ROOT, tokenFile!), 'utf8').trim()
    expect(demo.stdout).not.toContain(token)

    const { page, urls } = await openPage()
    await page.goto(url!)
    await page.getByLabel('Admin token').fill(token)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('link', { name: /Agents\s+1 up · 0 silent/ }).waitFor()
    expect(page.url()).not.toContain(token)
    expect(await page.content()).not.toContain(token)
    for (const requested of urls) expect(requested).not.toContain(token)
    expect(readFileSync(join(dataDir, 'serve.log'), 'utf8')).not.toContain(token)
  })
  it('follows a sync run of a real agent from the page: its counts grow chunk by chunk until it is done', async () => {
    // A SaaS list API of 12 contacts, 4 a page, each page slow enough for the page to see the run move.
    const contacts = Array.from({ length: 12 }, (_, index) => ({ id: `c-${index + 1}`, name: `Contact ${index + 1}`, updated_at: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString() }))
    const api = await startHttpTestServer((request) => {
      const url = new URL(request.path, 'http://list')
      const offset = Number(url.searchParams.get('offset') ?? 0)
      return { status: 200, body: { data: contacts.slice(offset, offset + Number(url.searchParams.get('limit') ?? 4)) }, delayMs: 700 }
    })
    scope.defer(() => api.close())
    const sink = await startFakeSink(scope)
    const relay = await startRelay(scope, { sources: { crm: webhookSource({ jobs: { contacts: { schedule: '0 2 * * *' } } }) } })
    await relay.startAgent({
      sources: {
        crm: {
          fetch: { type: 'http', url: `${api.url}/contacts/{id}` },
          list: { type: 'http', url: `${api.url}/contacts?offset={offset}&limit={pageSize}`, items: 'data', pagination: { type: 'offset' }, order: 'none', pageSize: 4 },
          sync: { chunkSize: 4, checkpointEveryMs: 0 },
          deliver: { type: 'http', url: `${sink.url}/contacts/{id}`, method: 'PUT' },
        },
      },
    })

    const { page, urls } = await openPage()
    await signIn(page, relay)
    await page.getByRole('link', { name: 'Syncs', exact: true }).click()
    const job = page.locator('tr[data-job="crm/contacts"]')
    await job.getByRole('button', { name: 'Start run' }).click()
    await expect.poll(() => page.locator('p.notice').textContent()).toContain('crm/contacts: run started')
    await page.locator('tr[data-run-id] a').first().click()

    const seen = new Set<string>()
    await eventually('the run done on its page', async () => {
      seen.add((await page.locator('.progress-text').textContent()) ?? '')
      return /Statedone/.test((await page.locator('dl.facts').textContent()) ?? '')
    }, { timeoutMs: 30_000, intervalMs: 100 })
    expect(await page.locator('.progress-text').textContent()).toBe('12 read · 12 written · 0 rejected')
    // It moved while it ran, and the page followed: a count between none and all was on screen.
    expect([...seen].some((text) => /^([1-9]|1[01]) read/.test(text)), [...seen].join(' | ')).toBe(true)
    expect(new Set(sink.accepted().map((delivery) => delivery.recordId))).toEqual(new Set(contacts.map((contact) => contact.id)))
    await shot(page, 'sync-run-agent')
    await expectTokenKeptSecret(page, urls, relay)
  }, 60_000)
})

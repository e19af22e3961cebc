import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { gzipSync } from 'node:zlib'
import { serverConfigSchema } from '../../lib/config/server-config.ts'
import { parseWithSchema } from '../../lib/config/zod.ts'
import { dashboardDir } from '../../lib/dashboard/static-assets.ts'
import { silentLog } from '../../lib/relay/deps.ts'
import { startServer } from '../../lib/server/serve.ts'
import { buildDashboard, launchBrowser } from '../support/browser.ts'
import { row, valueRow, type Row } from './report.ts'
import { summarize } from './stats.ts'

const KB = 1024
const SAMPLES = 15
/** Issue #13's targets: the whole dashboard within 150 KB gzipped, its first load on loopback under 1 s. */
export const DASHBOARD_TARGETS = { gzippedKb: 150, firstLoadMs: 1_000 }
/** The floor page: as small as a page with the sign-in field gets. */
const FLOOR_PAGE = '<!doctype html><meta charset="utf-8"><title>floor</title><input id="token">'

/** Every file of the build (page, scripts, styles), each gzipped as the server sends it. */
function gzippedKb(dir: string): number {
  let bytes = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) if (entry.isFile()) bytes += gzipSync(readFileSync(join(entry.parentPath, entry.name)), { level: 9 }).length
  return bytes / KB
}

/**
 * 7 dashboard: the build's size gzipped, and the first load of /ui/ from `hookferry serve` in
 * headless Chromium with an empty cache, until the sign-in field is on screen. Floor: the same
 * load of a one-field page from a bare node:http server.
 */
export async function benchDashboard(progress: (line: string) => void): Promise<{ rows: Row[]; failures: string[] }> {
  progress('7 dashboard')
  await buildDashboard()
  const size = gzippedKb(dashboardDir())
  const dataDir = mkdtempSync(join(tmpdir(), 'hookferry-bench-ui-'))
  const config = parseWithSchema(serverConfigSchema, { sources: { bench: { verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId: 'body.id' } } } }, 'bench config')
  const server = await startServer({ config, dataDir, port: 0, log: silentLog })
  const floor = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(FLOOR_PAGE))
  await new Promise<void>((resolve) => floor.listen(0, '127.0.0.1', resolve))
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined
  try {
    browser = await launchBrowser()
    const page = await browser.context.newPage()
    const cdp = await browser.context.newCDPSession(page)
    const load = async (url: string): Promise<number> => {
      await page.goto('about:blank')
      await cdp.send('Network.clearBrowserCache')
      const started = performance.now()
      await page.goto(url)
      await page.locator('#token').waitFor({ state: 'visible' })
      return performance.now() - started
    }
    const floorUrl = `http://127.0.0.1:${(floor.address() as AddressInfo).port}/`
    await load(`${server.url}/ui/`) // warm-up: the server's first read of the build, Chromium's first navigation
    const pageLoads: number[] = []
    const floorLoads: number[] = []
    for (let sample = 0; sample < SAMPLES; sample += 1) {
      pageLoads.push(await load(`${server.url}/ui/`))
      floorLoads.push(await load(floorUrl))
    }
    const firstLoad = summarize(pageLoads)
    const failures = [
      ...(size > DASHBOARD_TARGETS.gzippedKb ? [`dashboard bundle is ${size.toFixed(1)} KB gzipped, over its ${DASHBOARD_TARGETS.gzippedKb} KB target`] : []),
      ...(firstLoad.median >= DASHBOARD_TARGETS.firstLoadMs ? [`dashboard first load takes ${Math.round(firstLoad.median)} ms on loopback, over its ${DASHBOARD_TARGETS.firstLoadMs} ms target`] : []),
    ]
    return {
      rows: [
        valueRow({ block: '7 dashboard', runtime: 'embedded', figure: `bundle, gzipped (target ≤ ${DASHBOARD_TARGETS.gzippedKb})`, unit: 'KB' }, size),
        row({ block: '7 dashboard', runtime: 'embedded', figure: `first load, empty cache (target < ${DASHBOARD_TARGETS.firstLoadMs})`, unit: 'ms' }, firstLoad, { floor: summarize(floorLoads).median }),
      ],
      failures,
    }
  } catch (error) {
    return { rows: [valueRow({ block: '7 dashboard', runtime: 'embedded', figure: `bundle, gzipped (target ≤ ${DASHBOARD_TARGETS.gzippedKb})`, unit: 'KB' }, size)], failures: [`dashboard first load not measured: ${(error as Error).message}`] }
  } finally {
    await browser?.close()
    await new Promise((resolve) => floor.close(resolve))
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { chromium, type BrowserContext } from 'playwright-core'
import { REPO_ROOT } from './processes.ts'

/** Debian's chromium package; playwright-core drives it (it downloads no browser of its own). */
export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_MISSING = `headless Chromium is not installed at ${CHROMIUM}: install it with "apt-get install -y chromium"`
/** Where browser tests write their screenshots (gitignored). */
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-output', 'dashboard')

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const run = promisify(execFile)

/** Builds the dashboard (lib/dashboard/ui → dist/dashboard) as `npm run build:dashboard` does. */
export async function buildDashboard(): Promise<void> {
  await run(process.execPath, [join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'lib/dashboard/vite.config.ts'], { cwd: REPO_ROOT })
}

/** Headless Chromium with a fresh profile (removed on close). */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(CHROMIUM_MISSING)
  const profile = mkdtempSync(join(tmpdir(), 'hookferry-chromium-'))
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 860 } })
  return {
    context,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/**
 * `npm run typecheck:infra`: type-checks sst.config.ts against the SST platform types, offline.
 * The types come from `sst install`, which writes .sst/platform/ (done again when the installed sst
 * version changes); then `tsc -p tsconfig.sst.json` catches wrong component keys and values.
 * No AWS account or network is needed: `sst diff`/`deploy` are never run here.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')
const BIN = join(ROOT, 'node_modules', '.bin')
const PLATFORM = join(ROOT, '.sst', 'platform')

function fail(message: string): never {
  console.error(`typecheck:infra: ${message}`)
  process.exit(1)
}

function platformIsCurrent(): boolean {
  if (!existsSync(join(PLATFORM, 'config.d.ts'))) return false
  const wanted = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'sst', 'package.json'), 'utf8')) as { version: string }).version
  const versionFile = join(PLATFORM, 'version')
  return existsSync(versionFile) && readFileSync(versionFile, 'utf8').trim() === wanted
}

/** Runs `sst install --stage ci` without letting it reach the network or the user's config. */
function installPlatform(): void {
  const configHome = mkdtempSync(join(tmpdir(), 'hookferry-sst-'))
  // Without these, every sst command first tries to download pulumi/bun and to send telemetry.
  const env: NodeJS.ProcessEnv = { ...process.env, SST_SKIP_DEPENDENCY_CHECK: '1', SST_TELEMETRY_DISABLED: '1', XDG_CONFIG_HOME: configHome }
  const bun = join(BIN, 'bun')
  if (existsSync(bun)) env.SST_BUN_PATH = bun
  else env.SST_NO_BUN = '1'
  try {
    const result = spawnSync(join(BIN, 'sst'), ['install', '--stage', 'ci'], { cwd: ROOT, env, encoding: 'utf8' })
    if (result.error) fail(`could not run sst (${result.error.message}); is the sst package installed?`)
    if (result.status !== 0 || !existsSync(join(PLATFORM, 'config.d.ts'))) {
      const lastLine = `${result.stdout}\n${result.stderr}`.trim().split('\n').at(-1) ?? ''
      fail(`\`sst install --stage ci\` failed (exit ${result.status}): ${lastLine}`)
    }
  } finally {
    rmSync(configHome, { recursive: true, force: true })
  }
}

if (!platformIsCurrent()) installPlatform()
const tsc = spawnSync(join(BIN, 'tsc'), ['-p', 'tsconfig.sst.json'], { cwd: ROOT, stdio: 'inherit' })
if (tsc.error) fail(`could not run tsc (${tsc.error.message})`)
if (tsc.status !== 0) fail('sst.config.ts does not type-check against the SST platform (errors above)')

import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join, relative, sep } from 'node:path'
import { promisify } from 'node:util'
import { REPO_ROOT } from './processes.ts'

const run = promisify(execFile)
/** Top-level entries of a checkout that are never packed: deps, VCS, builds, local state. */
const NOT_SOURCES = new Set(['node_modules', '.git', 'dist', '.sst', '.hookferry', '.hookferry-agent', 'coverage'])

/**
 * The environment for npm run from a test: this Node (22) first in PATH, and none of the
 * npm_* variables of an outer `npm test`, which would leak into the inner npm's settings.
 */
export function npmEnvironment(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)))
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` }
}

interface PackedFile {
  path: string
}

/**
 * `npm pack` of this checkout, as publishing would make it (the `prepack` script builds dist/).
 * It packs a copy in `workDir` (node_modules linked, not copied) so that the build never writes
 * into the checkout other tests and people are using.
 */
export async function packCheckout(workDir: string): Promise<{ tarball: string; files: string[] }> {
  const copy = join(workDir, 'checkout')
  cpSync(REPO_ROOT, copy, { recursive: true, filter: (source) => !NOT_SOURCES.has(relative(REPO_ROOT, source).split(sep)[0] ?? '') })
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir')
  const destination = join(workDir, 'pack')
  mkdirSync(destination)
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], { cwd: copy, env: npmEnvironment(), maxBuffer: 64 * 1024 * 1024 })
  // The JSON follows whatever the prepack script printed.
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: PackedFile[] }[]
  if (!packed) throw new Error(`npm pack printed no package: ${stdout}`)
  return { tarball: join(destination, packed.filename), files: packed.files.map((file) => file.path) }
}

/** A fresh npm project in `dir` with only `tarball` installed (and its dependencies from the registry). */
export async function installTarball(dir: string, tarball: string): Promise<void> {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'hookferry-consumer', private: true, type: 'module' }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: dir, env: npmEnvironment() })
}

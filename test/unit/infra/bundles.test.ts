import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Metafile } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEPLOYED_CONFIG_FILE } from '../../../lib/runtime/json-config.ts'
import { SST_ESBUILD_OPTIONS, bundleFunction, bundledInputs, type FunctionBundle } from '../../bench/cold-start-block.ts'

/**
 * What each Lambda bundle holds, built with the bench's copy of SST's esbuild options: an
 * invariant on the import graph (esbuild's metafile), not a timing.
 */
const ROOT = join(import.meta.dirname, '..', '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'hookferry-bundles-'))
const bundles = new Map<string, FunctionBundle>()

beforeAll(async () => {
  for (const name of ['ingest', 'agent-heartbeat']) bundles.set(name, await bundleFunction(join(ROOT, 'functions', `${name}.ts`), join(dir, name)))
}, 60_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The output files loaded with `start` (static imports only; `await import()` targets load when used). */
function staticClosure(metafile: Metafile, start: string): Set<string> {
  const seen = new Set<string>()
  const pending = [start]
  while (pending.length > 0) {
    const output = pending.pop()!
    if (seen.has(output)) continue
    seen.add(output)
    for (const imported of metafile.outputs[output]?.imports ?? []) if (imported.kind === 'import-statement' && imported.path in metafile.outputs) pending.push(imported.path)
  }
  return seen
}

const outputHolding = (metafile: Metafile, input: string): string => {
  const found = Object.entries(metafile.outputs).find(([, output]) => input in output.inputs)
  if (!found) throw new Error(`no output holds ${input}`)
  return found[0]
}

describe('Lambda bundles', () => {
  it('are built by the bench as sst.config.ts builds them: chunks split, the AWS SDK bundled, the JSON config copied', () => {
    const sst = readFileSync(join(ROOT, 'sst.config.ts'), 'utf8')
    expect(sst).toMatch(/nodejs \?\?= \{ format: 'esm', minify: true, splitting: true \}/)
    expect(SST_ESBUILD_OPTIONS).toMatchObject({ splitting: true, format: 'esm', minify: true, external: ['sharp', 'pg-native'] })
    expect(sst).toMatch(/copyFiles: \[\{ from: deployedConfig, to: DEPLOYED_CONFIG_FILE \}\]/)
    expect(DEPLOYED_CONFIG_FILE.endsWith('.json')).toBe(true)
  })

  it('ingest holds no admin, sync scheduling, dashboard, CLI, agent, embedded-store or database-driver code', () => {
    const inputs = bundledInputs(bundles.get('ingest')!)
    expect(inputs).toContain('functions/ingest.ts')
    const forbidden = [
      'lib/admin/',
      'lib/dashboard/',
      'lib/cli/',
      'lib/agent/',
      'lib/sqlite/',
      'lib/ports/local/',
      'lib/server/',
      'lib/relay/sync/sync-service.ts',
      'lib/relay/agent-service.ts',
      'node_modules/pg/',
      'node_modules/pg-copy-streams/',
      'node_modules/mysql2/',
      'node_modules/pino/',
      'node_modules/undici/',
      'node_modules/commander/',
    ]
    for (const prefix of forbidden) expect(inputs.filter((input) => input.includes(prefix)), prefix).toEqual([])
  })

  it.each(['ingest', 'agent-heartbeat'])('%s loads no YAML parser, neither on import nor when it builds its runtime from the deployed JSON', (name) => {
    const { metafile, entry } = bundles.get(name)!
    const entryOutput = Object.keys(metafile.outputs).find((output) => join(ROOT, output) === entry || entry.endsWith(output))!
    expect(entryOutput).toBeDefined()
    const loaded = new Set([...staticClosure(metafile, entryOutput), ...staticClosure(metafile, outputHolding(metafile, 'lib/runtime/lambda-runtime.ts'))])
    const yamlIn = [...loaded].filter((output) => Object.keys(metafile.outputs[output]!.inputs).some((input) => input.includes('node_modules/yaml/')))
    expect(yamlIn).toEqual([])
    // It is still there for a YAML HOOKFERRY_CONFIG, in a chunk of its own.
    expect(Object.keys(metafile.outputs[outputHolding(metafile, 'lib/config/load-yaml.ts')]!.inputs).some((input) => input.includes('node_modules/yaml/'))).toBe(true)
  })
})

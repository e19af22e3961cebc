import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROUTES } from '../../../lib/http/routes.ts'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const SST_CONFIG = readFileSync(join(ROOT, 'sst.config.ts'), 'utf8')

/** Reads the source instead of importing it: importing a handler would build its runtime. */
function exportsHandler(fn: string): boolean {
  const path = join(ROOT, 'functions', `${fn}.ts`)
  if (!existsSync(path)) return false
  const source = readFileSync(path, 'utf8')
  return /export\s+(const|let|async\s+function|function)\s+handler\b/.test(source) || /export\s*\{[^}]*\bhandler\b[^}]*\}/.test(source)
}

/** Strips comments so a route mentioned in prose does not count as a hard-coded one. */
const SST_CODE = SST_CONFIG.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')

describe('http routes', () => {
  it('lists each route key once', () => {
    const keys = ROUTES.map((spec) => spec.route)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it.each(ROUTES.map((spec) => [spec.route, spec.fn] as const))('serves %s from functions/%s.ts, which exports handler', (_route, fn) => {
    expect(exportsHandler(fn), `functions/${fn}.ts must exist and export \`handler\``).toBe(true)
  })

  it('keeps every timeout under the 30 s API Gateway HTTP API integration limit', () => {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
    for (const spec of ROUTES) expect(spec.timeoutSeconds, spec.route).toBeLessThan(30)
  })
})

describe('sst.config.ts', () => {
  it('builds the API routes from ROUTES', () => {
    expect(SST_CODE).toMatch(/import\(\s*['"]\.\/lib\/http\/routes\.ts['"]\s*\)/)
    expect(SST_CODE).toMatch(/of\s+ROUTES\b/)
    expect(SST_CODE).toMatch(/functions\/\$\{[^}]+\}\.handler/)
  })

  it('hard-codes no route key or route handler of its own', () => {
    for (const spec of ROUTES) {
      expect(SST_CODE, `route ${spec.route} must come from ROUTES`).not.toContain(spec.route)
      expect(SST_CODE, `functions/${spec.fn} must come from ROUTES`).not.toContain(`functions/${spec.fn}.handler`)
    }
    expect(SST_CODE).not.toMatch(/\.route\(\s*['"`](GET|POST|PUT|PATCH|DELETE|ANY)\s/)
  })

  it('points every other handler it names at a functions/ file that exports handler', () => {
    const named = [...SST_CODE.matchAll(/['"`]functions\/([a-z0-9-]+)\.handler['"`]/g)].map((match) => match[1] ?? '')
    expect(named).toEqual(expect.arrayContaining(['dead-letter', 'repair']))
    for (const fn of named) expect(exportsHandler(fn), `functions/${fn}.ts must exist and export \`handler\``).toBe(true)
  })
})

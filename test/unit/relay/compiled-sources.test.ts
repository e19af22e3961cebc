import { afterEach, describe, expect, it, vi } from 'vitest'
import { serverConfigSchema, type ServerConfig } from '../../../lib/config/server-config.ts'
import { parseWithSchema } from '../../../lib/config/zod.ts'
import { ConfigError } from '../../../lib/errors.ts'
import { compileAllSources, compiledSource } from '../../../lib/relay/compiled-sources.ts'
import { stderrLog } from '../../../lib/relay/deps.ts'

/** A source's extractor is compiled once per config; a bad expression is named by its source. */

const source = (recordId: string) => ({ verify: { scheme: 'none', allowUnsigned: true }, extract: { recordId } })
const config = (sources: Record<string, unknown>): ServerConfig => parseWithSchema(serverConfigSchema, { sources }, 'test config')

describe('compiledSource', () => {
  it('compiles a source once per config and gives the same extractor on every webhook', async () => {
    const first = config({ crm: source('body.id'), shop: source('body.sku') })
    const crm = compiledSource(first, 'crm')
    expect(crm).toMatchObject({ name: 'crm', config: first.sources.crm })
    expect(compiledSource(first, 'crm')).toBe(crm)
    expect(compiledSource(first, 'shop')).not.toBe(crm)
    expect(compiledSource(first, 'shop')).toBe(compiledSource(first, 'shop'))
    const extracted = await crm!.extract({ body: { id: 42 }, headers: {}, query: {}, rawBody: Buffer.from('{"id":42}') })
    expect(extracted.recordIds).toEqual(['42'])
    // Another config (a reload) compiles its own.
    const second = config({ crm: source('body.id') })
    expect(compiledSource(second, 'crm')).not.toBe(crm)
    expect(compiledSource(second, 'crm')).toBe(compiledSource(second, 'crm'))
  })

  it('knows only configured sources, not inherited properties', () => {
    const sources = config({ crm: source('body.id') })
    expect(compiledSource(sources, 'shop')).toBeUndefined()
    expect(compiledSource(sources, 'constructor')).toBeUndefined()
    expect(compiledSource(sources, 'toString')).toBeUndefined()
  })

  it('names the source of an expression that does not compile, at start-up', () => {
    const bad = config({ crm: source('body.id'), shop: source('body.(') })
    expect(() => compiledSource(bad, 'shop')).toThrow(ConfigError)
    expect(() => compiledSource(bad, 'shop')).toThrow(/^sources\.shop\.extract/)
    const error = (() => {
      try {
        compiledSource(bad, 'shop')
      } catch (thrown) {
        return thrown as ConfigError
      }
      return undefined
    })()
    expect(error?.cause).toBeInstanceOf(ConfigError)
    expect(error?.message).toBe(`sources.shop.${(error?.cause as Error).message}`)
    expect(() => compileAllSources(bad)).toThrow(/^sources\.shop\./)
    expect(() => compileAllSources(config({ crm: source('body.id') }))).not.toThrow()
  })
})

describe('stderrLog', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('writes warnings and errors as one JSON line each on stderr, and drops debug and info', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    stderrLog.debug('d', { a: 1 })
    stderrLog.info('i', { a: 1 })
    stderrLog.warn('careful', { source: 'crm' })
    stderrLog.error('failed', { code: 'x' })
    stderrLog.warn('bare')
    expect(warn.mock.calls).toEqual([[JSON.stringify({ level: 'warn', message: 'careful', source: 'crm' })], [JSON.stringify({ level: 'warn', message: 'bare' })]])
    expect(error.mock.calls).toEqual([[JSON.stringify({ level: 'error', message: 'failed', code: 'x' })]])
  })
})

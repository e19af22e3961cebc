import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createTransform } from '../../../lib/agent/transform.ts'
import { tempDir } from './helpers.ts'

/** A transform that cannot work says where it is configured; one that throws fails the record for good. */
const dirs: { remove(): void }[] = []
afterEach(() => dirs.splice(0).forEach((dir) => dir.remove()))
const context = { requestId: 'req-1', source: 'crm', recordId: '42', attempt: 1 }

describe('createTransform', () => {
  it('names the config key of a JSONata expression that does not compile', async () => {
    await expect(createTransform({ jsonata: '{ "a": ', export: 'default' }, 'sources.crm.transform')).rejects.toThrow(/^sources\.crm\.transform\.jsonata/)
  })

  it('names the config key of a module that cannot be loaded', async () => {
    await expect(createTransform({ module: '/nonexistent/transform.mjs', export: 'default' }, 'sources.crm.transform')).rejects.toThrow(/sources\.crm\.transform\.module/)
  })

  it('fails the record for good, with the key, when the module throws', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = join(dir.path, 'transform.mjs')
    writeFileSync(file, 'export default (record) => { if (record.bad) throw new Error("no total on " + record.id); return { ...record, seen: true } }\n')
    const transform = await createTransform({ module: file, export: 'default' }, 'sources.crm.transform')
    expect(await transform({ id: '1' }, context)).toEqual({ id: '1', seen: true })
    const error = await transform({ id: '2', bad: true }, context).catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 'agent.transform_failed', retryable: false })
    expect((error as Error).message).toMatch(/^sources\.crm\.transform: transform threw/)
    expect((error as Error).message).toContain('no total on 2')
  })
})

import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../../lib/errors.ts'
import { HttpClient } from '../../../../lib/agent/http-client.ts'
import { parseAgentConfig } from '../../../../lib/agent/load-agent-config.ts'
import { buildSources } from '../../../../lib/agent/source-runtime.ts'
import { tempDir } from '../helpers.ts'

const dirs: { remove(): void }[] = []
afterEach(() => dirs.splice(0).forEach((dir) => dir.remove()))

function parse(source: string) {
  const dir = tempDir()
  dirs.push(dir)
  const yaml = `cloud: { url: "http://127.0.0.1:1", token: t }\nsources:\n  crm:\n    fetch: { type: http, url: "http://api/{id}" }\n    deliver: { type: file, path: ./out.jsonl }\n${source.split('\n').map((line) => `    ${line}`).join('\n')}`
  return parseAgentConfig(yaml, join(dir.path, 'agent.yaml'))
}

const message = (run: () => unknown) => {
  try {
    run()
  } catch (error) {
    return (error as Error).message
  }
  return 'no error'
}

describe('sync agent config', () => {
  it('fills in the defaults of list and sync', () => {
    const config = parse('list: { type: http, url: "http://api/items?since={since}", pagination: { type: link } }')
    expect(config.sources.crm!.list).toMatchObject({ id: 'id', cursor: 'updated_at', order: 'cursor', cursorType: 'time', pageSize: 1000, attempts: 6, rateLimit: { concurrency: 4 } })
    expect(config.sources.crm!.sync).toEqual({ chunkSize: 1000, concurrency: 16, rejectLimit: 100, attempts: 5, deletes: false, checkpointEveryMs: 1000, maxChangedKeys: 100_000 })
  })

  it('names the file, the key and what was expected for a bad list', () => {
    expect(message(() => parse('list: { type: http, url: "http://api/items?since={from}", pagination: { type: link } }'))).toMatch(/agent\.yaml: sources\.crm\.list\.url: unknown placeholder \{from\}: expected one of \{since\}/)
    expect(message(() => parse('list: { type: postgres, url: "postgres://db/erp", cursor: updated_at, key: id }'))).toMatch(/sources\.crm\.list: give either table or query/)
    expect(message(() => parse('list: { type: mysql, url: "mysql://db/erp", table: "customers; DROP", cursor: updated_at, key: id }'))).toMatch(/sources\.crm\.list\.table: expected a column or table name/)
    expect(message(() => parse('originFilter: "last_modified_by !="'))).toMatch(/sources\.crm\.originFilter: expected a valid JSONata expression/)
    expect(message(() => parse('sync: { chunkSize: 0 }'))).toMatch(/sources\.crm\.sync\.chunkSize/)
  })

  it('refuses deletes for a sink that cannot delete what a run did not see, at start-up', async () => {
    const config = parse('list: { type: http, url: "http://api/items", pagination: { type: offset } }\nsync: { deletes: true }')
    const http = new HttpClient()
    const error = await buildSources(config.sources, { http }).catch((caught: unknown) => caught)
    await http.close()
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as Error).message).toBe('sources.crm.sync.deletes: the file sink cannot delete what a full run did not see: use a postgres or mysql sink with deliver.runColumn set (the column that stamps each row with the run that wrote it), or set deletes: false')
  })

  it('resolves an afterRun module against the config file', () => {
    const config = parse('list: { type: http, url: "http://api/items", pagination: { type: offset } }\nsync: { afterRun: { type: module, module: ./after.mjs } }')
    expect(config.sources.crm!.sync.afterRun).toEqual({ type: 'module', module: join(config.baseDir, 'after.mjs'), export: 'default' })
  })
})

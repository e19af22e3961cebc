import { describe, expect, it } from 'vitest'
import { parseAgentConfig } from '../../../lib/agent/load-agent-config.ts'
import { parseYamlConfig } from '../../../lib/config/load-yaml.ts'
import { serverConfigSchema } from '../../../lib/config/server-config.ts'
import { unknownRootFields } from '../../../lib/expressions/root-paths.ts'

const roots = ['body', 'headers', 'query']

describe('JSONata paths outside the input', () => {
  it('finds a bare word, which is a path and never the literal text', () => {
    expect(unknownRootFields('issue', roots)).toEqual(['issue'])
    expect(unknownRootFields('data.object.id', roots)).toEqual(['data'])
  })

  it('accepts paths from the roots, quoted literals, functions and conditions over them', () => {
    for (const ok of ["'issue'", 'body.issue.node_id', "$exists(body.pull_request) ? 'pull_request' : 'issue'", "headers.`x-github-event` & '.' & body.action", "$substringBefore(headers.`x-shopify-topic`, '/')", "body.items[type = 'x'].id", '{ "id": body.id }', '[body.a, body.b]', '($x := body.id; $x)']) {
      expect(unknownRootFields(ok, roots), ok).toEqual([])
    }
  })

  it('finds root reads inside conditions, function arguments and constructors', () => {
    expect(unknownRootFields("$exists(body.x) ? 'a' : issue", roots)).toEqual(['issue'])
    expect(unknownRootFields('$string(id)', roots)).toEqual(['id'])
    expect(unknownRootFields('{ "id": id }', roots)).toEqual(['id'])
  })

  it('is a config error at load time naming the key and showing the quoted form', () => {
    const yaml = `sources:\n  github:\n    verify: { scheme: github, secrets: [s] }\n    extract: { recordId: body.issue.node_id, recordType: issue }\n`
    expect(() => parseYamlConfig(serverConfigSchema, yaml, 'hookferry.yaml', {})).toThrow(
      `hookferry.yaml: sources.github.extract.recordType: reads "issue" from the root of {body, headers, query}, where it can never match. For the text issue, quote it: "'issue'".`,
    )
  })

  it('checks agent transforms over {record, request} the same way', () => {
    const yaml = `cloud: { url: "http://127.0.0.1:1", token: t }\nsources:\n  crm:\n    fetch: { type: payload }\n    transform: { jsonata: '{ "id": id }' }\n    deliver: { type: file, path: out.ndjson }\n`
    expect(() => parseAgentConfig(yaml, 'agent.yaml', {})).toThrow(/agent\.yaml: sources\.crm\.transform\.jsonata: reads "id" from the root of \{record, request\}/)
  })
})

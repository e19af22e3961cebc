import jsonata from 'jsonata'
import * as z from 'zod/mini'
import '../config/zod.ts'
import { jsonataMessage } from '../expressions/compile-jsonata.ts'

/** The building blocks the agent's config schemas share (config.ts, sync/sync-config.ts, sinks/sql/sql-config.ts). */

export const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'))
export const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })
export const headerName = z.string().check(z.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name'))

/** A JSONata expression (https://docs.jsonata.org), checked for syntax when the config loads. */
export const jsonataExpression = nonEmpty.check(
  z.superRefine((source, ctx) => {
    try {
      jsonata(source)
    } catch (error) {
      ctx.addIssue({ code: 'custom', input: source, message: `expected a valid JSONata expression: ${jsonataMessage(error)}` })
    }
  }),
)

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** A text template whose `{placeholders}` must be among `names` (a typo is a config error, not an empty value). */
export function templateOf(names: readonly string[]) {
  return z.string().check(
    z.superRefine((template, ctx) => {
      for (const [, name] of template.matchAll(PLACEHOLDER)) {
        if (!names.includes(name!)) {
          ctx.addIssue({ code: 'custom', input: template, message: `unknown placeholder {${name}}: expected one of ${names.map((p) => `{${p}}`).join(', ')}` })
        }
      }
    }),
  )
}

import type { FetchConfig } from '../config.ts'
import type { Authenticator } from './auth.ts'
import type { Connector } from './connector.ts'
import { createHttpConnector } from './http-connector.ts'
import { createPayloadConnector } from './payload-connector.ts'

/** The connector for a source's `fetch` block; `key` (e.g. `sources.stripe.fetch`) names it in messages. */
export function createConnector(config: FetchConfig, deps: { auth: Authenticator; key: string; now?: () => number }): Connector {
  switch (config.type) {
    case 'http':
      return createHttpConnector(config, deps)
    case 'payload':
      return createPayloadConnector()
  }
}

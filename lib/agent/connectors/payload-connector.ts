import type { LeaseGrant } from '../../relay/agent-api.ts'
import { permanentError } from '../errors.ts'
import type { Connector, FetchResult } from './connector.ts'

/** Uses the webhook body the cloud forwarded, for webhooks that carry the whole record. */
export function createPayloadConnector(): Connector {
  return {
    async fetch(lease: LeaseGrant): Promise<FetchResult> {
      if (lease.payload === undefined) {
        throw permanentError(
          'agent.no_payload',
          `source ${lease.source} uses fetch type "payload" but the cloud forwarded no webhook body: set forwardPayload: true for it in the server config`,
        )
      }
      return { op: 'upsert', record: lease.payload }
    },
  }
}

import { HookferryError } from '../errors.ts'

/** What a lease token carries: enough to find the request and its queue message again. */
export interface LeaseRef {
  requestId: string
  recordKey: string
  leaseId: string
  receipt: string
}

/** Encodes a lease for the agent. It is opaque to the agent and checked against the ledger on use. */
export function encodeLease(ref: LeaseRef): string {
  return Buffer.from(JSON.stringify([1, ref.requestId, ref.recordKey, ref.leaseId, ref.receipt])).toString('base64url')
}

/** Decodes a lease token, or throws `agent.invalid_lease`. */
export function decodeLease(token: string): LeaseRef {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
    if (Array.isArray(parsed) && parsed.length === 5 && parsed[0] === 1 && parsed.slice(1).every((part) => typeof part === 'string')) {
      const [, requestId, recordKey, leaseId, receipt] = parsed as [number, string, string, string, string]
      return { requestId, recordKey, leaseId, receipt }
    }
  } catch {
    // reported below
  }
  throw new HookferryError('agent.invalid_lease', 'lease token is not one this server issued', { statusCode: 400 })
}

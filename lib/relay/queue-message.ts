/** The work-queue message body: a wake-up call for one request. The ledger decides what it means. */
export interface WorkMessage {
  requestId: string
  recordKey: string
}

export function encodeWorkMessage(message: WorkMessage): string {
  return JSON.stringify({ v: 1, requestId: message.requestId, recordKey: message.recordKey })
}

/** Returns undefined for a body hookferry did not write (logged and removed by the caller). */
export function decodeWorkMessage(body: string): WorkMessage | undefined {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>
    if (parsed.v === 1 && typeof parsed.requestId === 'string' && typeof parsed.recordKey === 'string') {
      return { requestId: parsed.requestId, recordKey: parsed.recordKey }
    }
  } catch {
    // not ours
  }
  return undefined
}

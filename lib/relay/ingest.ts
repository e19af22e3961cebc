import { HookferryError } from '../errors.ts'
import { isEventIncluded } from '../sources/filter.ts'
import { handshakeReply } from '../sources/handshake.ts'
import { parseBody } from '../sources/parse-body.ts'
import { verifySignature } from '../sources/verify/index.ts'
import { awaitReply } from './await-reply.ts'
import { compiledSource } from './compiled-sources.ts'
import type { RelayDeps } from './deps.ts'
import { decideEvent } from './record-machine.ts'
import { recordKeyOf } from './types.ts'
import { enqueueWork, guardStorage, markWorkSent } from './work-messages.ts'

export interface WebhookInput {
  source: string
  /** Lower-case header names. */
  headers: Record<string, string>
  query: Record<string, string>
  rawBody: Buffer
}

export interface HttpReply {
  statusCode: number
  headers: Record<string, string>
  body: string
}

const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpReply => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
})

/**
 * POST /hooks/{source}: verify → parse → extract → filter → dedupe → record per record → enqueue.
 * Answers 202 only once the work is durable (invariant 1); the delivery id is remembered only
 * after that, so a provider's retry of a failed attempt is never swallowed as a duplicate.
 */
export async function ingestWebhook(deps: RelayDeps, input: WebhookInput): Promise<HttpReply> {
  const source = compiledSource(deps.config, input.source)
  if (!source) throw new HookferryError('source.unknown', `no source named "${input.source}" is configured`, { statusCode: 404 })
  if (input.rawBody.length > deps.config.limits.maxBodyBytes) {
    throw new HookferryError('request.body_too_large', `body is larger than ${deps.config.limits.maxBodyBytes} bytes`, { statusCode: 413 })
  }
  const now = deps.now()
  verifySignature(source.config.verify, { headers: input.headers, rawBody: input.rawBody, now })
  const body = parseBody(input.headers['content-type'], input.rawBody)

  const handshake = handshakeReply(source.config.verify.scheme, body)
  if (handshake) return { statusCode: handshake.statusCode, headers: { 'content-type': handshake.contentType }, body: handshake.body }

  const extracted = await source.extract({ body, headers: input.headers, query: input.query, rawBody: input.rawBody })
  if (!isEventIncluded(source.config.filter, extracted.event)) {
    deps.metrics.count('WebhookIgnored', 1, { source: source.name })
    return json(200, { ignored: true, reason: `event "${extracted.event ?? ''}" is filtered out by the source's filter` })
  }

  // One unit for the webhook's storage calls where the store offers it: one commit, not one per call.
  const unit = deps.storageUnit?.()
  const stored: RelayDeps = unit ? { ...deps, ledger: unit.ledger, queue: unit.queue } : deps
  const durable = async (): Promise<void> => {
    if (unit) await guardStorage(() => unit.durable())
  }
  if (await guardStorage(() => stored.ledger.hasDelivery(source.name, extracted.deliveryId))) {
    await durable()
    deps.metrics.count('WebhookDuplicate', 1, { source: source.name })
    return json(200, { duplicate: true })
  }

  const event = { deliveryId: extracted.deliveryId, receivedAt: now.toISOString(), ...(extracted.event ? { event: extracted.event } : {}) }
  const payload = source.config.forwardPayload ? body : undefined
  const results = await Promise.all(
    extracted.recordIds.map((recordId) => {
      const recordKey = recordKeyOf(source.name, recordId, extracted.recordType)
      const spec = {
        id: deps.newId(),
        source: source.name,
        recordKey,
        recordId,
        mode: source.config.mode,
        maxAttempts: source.config.maxAttempts,
        ...(extracted.recordType ? { recordType: extracted.recordType } : {}),
      }
      return guardStorage(() => stored.ledger.mutateRecord(recordKey, [], (snapshot) => decideEvent(snapshot, { request: spec, event, payload, now })))
        .then((result) => ({ ...result, recordKey }))
    }),
  )

  const toSend = results.filter((result) => result.send)
  await enqueueWork(stored, toSend)
  // The work is durable (or, in a unit, commits with everything below): the sent marks and the
  // dedupe mark are bookkeeping, written together (one storage round trip less on the webhook's path).
  await Promise.all([
    markWorkSent(stored, toSend),
    guardStorage(() => stored.ledger.rememberDelivery(source.name, extracted.deliveryId, source.config.dedupeSeconds)).catch((error: unknown) => {
      // A lost dedupe mark only means a re-delivery would coalesce again.
      deps.log.warn('could not remember delivery id', { source: source.name, error: String(error) })
    }),
  ])
  // Invariant 1: no answer before the unit's commit (a failed one is a 503, and none of it was kept).
  await durable()
  for (const result of results) deps.metrics.count(`Webhook${result.outcome[0]!.toUpperCase()}${result.outcome.slice(1)}`, 1, { source: source.name })

  const requests = [...new Set(results.map((result) => result.requestId))]
  if (source.config.mode === 'sync' && results[0]) {
    const reply = await awaitReply(deps, results[0], source.config.sync)
    if (reply) {
      const allowed = new Set(source.config.sync.headers.map((name) => name.toLowerCase()))
      const headers = Object.fromEntries(Object.entries(reply.headers).filter(([name]) => allowed.has(name.toLowerCase())))
      return { statusCode: reply.status, headers, body: reply.body }
    }
  }
  return json(202, { accepted: results.length, requests })
}

import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../lib/ports/local/open-database.ts'
import { SqliteLedger } from '../../lib/ports/local/sqlite-ledger.ts'
import { decodeWorkMessage } from '../../lib/relay/queue-message.ts'
import { startServeProcess } from '../support/processes.ts'
import { requestIdsOf, startRelay, webhookSource } from '../support/relay-harness.ts'
import { useTestScope } from '../support/test-scope.ts'
import { eventually } from '../support/wait.ts'

/**
 * Invariant 1 under group commit: webhooks arriving together share one SQLite commit, and each
 * gets its 202 only after that commit returned. `hookferry serve` is SIGKILLed in the middle of a
 * burst from 16 concurrent senders (commits in flight, requests half read), restarted on the same
 * data directory, and every webhook that got a 202 must be in the ledger, queued, with its work
 * message in the queue.
 */
const scope = useTestScope()
const SENDERS = 16
const KILL_AFTER_ACCEPTED = 150

describe('hookferry serve SIGKILLed during a burst of concurrent webhooks (group commit)', () => {
  it('has every webhook that got a 202 in the ledger and the queue after a restart', { timeout: 60_000 }, async () => {
    const relay = await startRelay(scope, { sources: { crm: webhookSource() } })
    const accepted = new Map<string, string[]>()
    let next = 0
    let killed = false
    const senders = Array.from({ length: SENDERS }, async () => {
      while (!killed) {
        const id = `cus_${(next += 1)}`
        try {
          const reply = await relay.recordChanged('crm', id)
          if (reply.status === 202) accepted.set(id, requestIdsOf(reply))
        } catch {
          // The connection died with the server: no 202, so nothing was promised.
        }
      }
    })
    await eventually('the burst is well under way', () => accepted.size >= KILL_AFTER_ACCEPTED, { timeoutMs: 30_000 })
    const exit = await relay.serve.kill()
    killed = true
    await Promise.all(senders)
    expect(exit.signal).toBe('SIGKILL')
    // Webhooks were still being sent when it died: the kill really fell in the middle of the burst.
    expect(next).toBeGreaterThan(accepted.size)

    const dataDir = join(relay.dir, 'data')
    await startServeProcess(scope, { configFile: join(relay.dir, 'hookferry.yaml'), dataDir, name: 'serve (after the crash)' })
    const db = openDatabase(join(dataDir, 'hookferry.db'))
    scope.defer(() => db.close())
    const ledger = new SqliteLedger({ db })
    const messages = (db.prepare("SELECT body FROM queue_messages WHERE queue = 'work'").all() as { body: string }[]).map((row) => decodeWorkMessage(row.body)?.requestId)
    const queuedIds = new Set(messages)
    const missing: string[] = []
    for (const [recordId, requestIds] of accepted) {
      for (const requestId of requestIds) {
        const request = await ledger.getRequest(requestId)
        if (request?.state !== 'queued' || request.recordId !== recordId || !queuedIds.has(requestId)) missing.push(`${recordId} (${requestId}): ${request?.state ?? 'not in the ledger'}`)
      }
    }
    expect(missing).toEqual([])
  })
})

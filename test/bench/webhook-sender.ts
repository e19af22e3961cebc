import { Pool } from 'undici'
import type { VerifyConfig } from '../../lib/config/server-config.ts'
import { signWebhook } from '../../lib/sources/sign.ts'

export interface SendResult {
  status: number
  /** Time from sending to the whole answer, in ms. */
  ms: number
}

/** Posts signed webhooks (as the provider would) over keep-alive loopback connections. */
export class WebhookSender {
  readonly #pool: Pool
  readonly #path: string
  readonly #verify: VerifyConfig | undefined

  /** `verify` undefined: unsigned bodies (for the floor server, which checks nothing). */
  constructor({ url, source, verify, connections }: { url: string; source: string; verify: VerifyConfig | undefined; connections: number }) {
    this.#pool = new Pool(url, { connections, pipelining: 1 })
    this.#path = `/hooks/${source}`
    this.#verify = verify
  }

  /** One webhook announcing that `recordId` changed; signing happens before the clock starts. */
  async send(recordId: string): Promise<SendResult> {
    const body = Buffer.from(JSON.stringify({ type: 'customer.updated', data: { id: recordId } }))
    const signature = this.#verify ? signWebhook(this.#verify, body, { now: new Date(), id: `msg_${recordId}` }) : {}
    const headers = { 'content-type': 'application/json', ...signature }
    const startedAt = performance.now()
    const response = await this.#pool.request({ path: this.#path, method: 'POST', headers, body })
    await response.body.dump()
    return { status: response.statusCode, ms: performance.now() - startedAt }
  }

  close(): Promise<void> {
    return this.#pool.close()
  }
}

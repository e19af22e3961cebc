import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'

/**
 * How much of a body that will not be used (over its limit, or sent to no route) is still read
 * and thrown away. A server that closes while the client is still sending makes the client's
 * kernel see a reset, and the client an EPIPE instead of the answer; reading the rest lets the
 * answer arrive. Beyond this bound the connection is closed anyway.
 */
export const DISCARD_LIMIT_IN_BYTES = 16 * 1024 * 1024

/** The body is over its limit; the rest of it is being discarded while the 413 is answered. */
export class BodyTooLargeError extends Error {}

/** The client went away (or was cut off) before its body was complete: nobody is left to answer. */
export class RequestAbortedError extends Error {
  readonly receivedBytes: number

  constructor(receivedBytes: number, cause: unknown) {
    super(`the client went away after ${receivedBytes} bytes of its body`, { cause })
    this.receivedBytes = receivedBytes
  }
}

/** The declared Content-Length, if any. */
export function declaredLength(request: IncomingMessage): number | undefined {
  const header = request.headers['content-length']
  return header === undefined ? undefined : Number(header)
}

const discarding = new WeakSet<Duplex>()

/** Whether this connection's request was answered already and its body is being discarded. */
export const isDiscarding = (socket: Duplex): boolean => discarding.has(socket)

/**
 * Reads the rest of a body into nothing, up to DISCARD_LIMIT_IN_BYTES, then closes the
 * connection. Once the body ends the connection stays usable (keep-alive).
 */
export function discardBody(request: IncomingMessage, alreadyRead = 0): void {
  let discarded = alreadyRead
  discarding.add(request.socket)
  request.once('end', () => discarding.delete(request.socket))
  request.removeAllListeners('data')
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > DISCARD_LIMIT_IN_BYTES) request.socket.destroy()
  })
  // The connection going away now is expected: the answer is already given or nobody waits for it.
  request.on('error', () => {})
  request.resume()
}

/**
 * The whole body, at most `limit` bytes. Over it (declared or counted) it rejects with
 * BodyTooLargeError at once, and discards the rest so the client gets to read the 413.
 */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if ((declaredLength(request) ?? 0) > limit) {
      discardBody(request)
      return reject(new BodyTooLargeError())
    }
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) {
        request.off('error', onError)
        discardBody(request, size)
        reject(new BodyTooLargeError())
        return
      }
      chunks.push(chunk)
    }
    // An IncomingMessage only fails when its connection does (reset, cut off by a timeout).
    const onError = (error: unknown): void => reject(new RequestAbortedError(size, error))
    request.on('data', onData)
    request.on('error', onError)
    request.on('end', () => resolve(Buffer.concat(chunks)))
    request.on('close', () => {
      if (!request.complete) reject(new RequestAbortedError(size, new Error('connection closed')))
    })
  })
}

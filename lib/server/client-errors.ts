import { STATUS_CODES, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { HookferryError } from '../errors.ts'
import { errorResponse } from '../http/error-response.ts'
import { silentLog, type Log } from '../relay/deps.ts'
import { isDiscarding } from './request-body.ts'

/** Errors of the server itself (no route, body too large, timeouts) go through the one error mapping too. */
export const jsonError = (statusCode: number, code: string, message: string) => errorResponse(new HookferryError(code, message, { statusCode }), silentLog)

function answerFor(error: NodeJS.ErrnoException, timeouts: { requestTimeoutMs: number; headersTimeoutMs: number }) {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return jsonError(408, 'request.timeout', `the request was not complete within ${timeouts.requestTimeoutMs} ms (headers within ${timeouts.headersTimeoutMs} ms)`)
    case 'HPE_HEADER_OVERFLOW':
      return jsonError(431, 'request.headers_too_large', 'the request headers are too large')
    default:
      return jsonError(400, 'request.malformed', `the request is not valid HTTP/1.1 (${error.code ?? error.message})`)
  }
}

/**
 * Node's 'clientError': a connection that failed outside any handler (malformed HTTP, a timeout,
 * a client that reset). It is the client's doing, so a debug line, not an error; when nothing was
 * answered yet the client gets a JSON error like any other, then the connection is closed.
 */
export function onClientError(log: Log, timeouts: { requestTimeoutMs: number; headersTimeoutMs: number }) {
  return (error: NodeJS.ErrnoException, socket: Duplex): void => {
    log.debug('client connection failed', { code: error.code, error: error.message })
    // A request already answered (a 413 while its body is discarded) or whose answer is under way
    // must not get a second status line; Node's own default handler checks the same field.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage
    const clientGone = error.code === 'ECONNRESET' || error.code === 'EPIPE'
    if (!clientGone && socket.writable && !isDiscarding(socket) && !inFlight?.headersSent) {
      const result = answerFor(error, timeouts)
      const body = String(result.body)
      const head = [`HTTP/1.1 ${result.statusCode} ${STATUS_CODES[result.statusCode!]}`, 'connection: close', 'content-type: application/json', `content-length: ${Buffer.byteLength(body)}`]
      socket.write(`${head.join('\r\n')}\r\n\r\n${body}`)
    }
    socket.destroy()
  }
}

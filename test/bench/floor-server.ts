/**
 * The floor: a plain node:http server in its own process that reads the body and answers 202 with
 * a small JSON body, doing no other work. Forked by the bench (processes.ts), it reports its URL
 * over IPC. What hookferry adds on top of this is what the ratios show.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const ACCEPTED = '{"accepted":1}'

const server = createServer((request, response) => {
  request.on('data', () => {})
  request.on('end', () => {
    response.writeHead(202, { 'content-type': 'application/json', 'content-length': ACCEPTED.length })
    response.end(ACCEPTED)
  })
})
// Same keep-alive as hookferry serve, so both keep their connections across a run.
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
})
process.on('disconnect', () => process.exit(0))

import { Writable } from 'node:stream'

/** A pino destination that keeps every JSON line (parsed, in `lines`) and the raw text (`text`, for redaction checks). */
export function captureLines(): { destination: Writable; lines: Record<string, unknown>[]; text: () => string } {
  const lines: Record<string, unknown>[] = []
  let raw = ''
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      raw += chunk.toString('utf8')
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>)
      callback()
    },
  })
  return { destination, lines, text: () => raw }
}

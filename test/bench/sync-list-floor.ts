/**
 * Floor of the sync backfill block: reads every page of the fake list API (keyset pagination,
 * JSON parsed, nothing else done with it) in its own process, like the agent would. Forked by
 * sync-backfill-block.ts with the list URL and the page size; answers `{type: 'done', records, ms}`.
 */
import { fetch } from 'undici'

const [url, pageSize] = [process.argv[2]!, Number(process.argv[3])]
const startedAt = performance.now()
let records = 0
let since = ''
let sinceId = ''
for (;;) {
  const response = await fetch(`${url}/items?style=keyset&since=${encodeURIComponent(since)}&since_id=${sinceId}&limit=${pageSize}`)
  const { data } = (await response.json()) as { data: { id: string; updated_at: string }[] }
  records += data.length
  if (data.length < pageSize) break
  since = data.at(-1)!.updated_at
  sinceId = data.at(-1)!.id
}
process.send!({ type: 'done', records, ms: performance.now() - startedAt })
process.disconnect()

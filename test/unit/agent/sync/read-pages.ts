import type { ListedRecord } from '../../../../lib/agent/connectors/list/list-connector.ts'

/** Drains a list connector's pages: every record in order, and how many pages there were. */
export async function readAll(pages: AsyncIterable<ListedRecord[]>): Promise<{ records: ListedRecord[]; pages: number }> {
  const records: ListedRecord[] = []
  let count = 0
  for await (const page of pages) {
    count += 1
    records.push(...page)
  }
  return { records, pages: count }
}

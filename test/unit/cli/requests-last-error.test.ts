import { afterEach, describe, expect, it } from 'vitest'
import { listRequests, replayRequest, showRequest } from '../../../lib/admin/admin-service.ts'
import { renderRequestTable } from '../../../lib/cli/commands/admin-requests.ts'
import { createRelayFixture, type RelayFixture } from '../admin/relay-fixture.ts'

let fixture: RelayFixture
afterEach(() => fixture?.close())

describe('hookferry requests: LAST ERROR', () => {
  it('is empty on a request that is done after a replay; show keeps the failed attempt', async () => {
    fixture = createRelayFixture()
    const ids = await fixture.deadLetter('crm', 'cus_1')
    const id = ids.get('cus_1')!
    await replayRequest(fixture.deps, id)
    await fixture.ack(await fixture.pull(1), 'done')

    const { items } = await listRequests(fixture.deps, { limit: 10 })
    expect(items).toEqual([expect.objectContaining({ id, state: 'done' })])
    expect(items[0]!.lastError).toBeUndefined()
    expect(renderRequestTable(items, new Date()).split('\n')[1]).not.toContain('sink.unavailable')

    const { request } = await showRequest(fixture.deps, id)
    expect(request.lastError).toBeUndefined()
    expect(request.attemptHistory.map((attempt) => [attempt.outcome, attempt.error?.code])).toEqual([
      ['fail', 'sink.unavailable'],
      ['done', undefined],
    ])
  })

  it('stays on a dead request', async () => {
    fixture = createRelayFixture()
    await fixture.deadLetter('crm', 'cus_2')
    const { items } = await listRequests(fixture.deps, { limit: 10 })
    expect(items[0]).toMatchObject({ state: 'dead', lastError: { code: 'sink.unavailable' } })
    expect(renderRequestTable(items, new Date())).toContain('sink.unavailable')
  })
})

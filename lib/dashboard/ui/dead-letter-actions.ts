import type { DiscardResponse, ReplayResponse } from '../../admin/admin-api.ts'
import { api, ApiError } from './api.ts'
import { h } from './dom.ts'

/** What a replay of one dead letter did, in words. */
export function replayOutcome(result: ReplayResponse): string {
  return result.status === 'requeued' ? 'Replayed: queued for the agent again.' : `Folded into request ${result.intoRequestId}, which already waits for the same record.`
}

export const replayOne = (id: string): Promise<ReplayResponse> => api<ReplayResponse>('POST', `/requests/${encodeURIComponent(id)}/replay`)

/**
 * "Discard…": a small inline form asking for the reason (kept with the request), so a dead
 * letter is never dropped by one stray click.
 */
export function discardControl(id: string, done: (message: string) => void): HTMLElement {
  const container = h('div', { class: 'discard' })
  const open = h('button', { type: 'button', class: 'danger', onclick: () => {
    const reason = h('input', { type: 'text', id: `reason-${id}`, maxlength: 500, autocomplete: 'off' })
    const error = h('p', { class: 'error', role: 'alert', hidden: true })
    const form = h(
      'form',
      { class: 'inline-form', onsubmit: async (event) => {
        event.preventDefault()
        if (!reason.value.trim()) {
          error.textContent = 'Give a reason: it is kept with the request.'
          error.hidden = false
          return reason.focus()
        }
        try {
          await api<DiscardResponse>('POST', `/requests/${encodeURIComponent(id)}/discard`, { body: { reason: reason.value.trim() } })
          done('Discarded.')
        } catch (caught) {
          error.textContent = caught instanceof ApiError ? `${caught.message} (${caught.code})` : String(caught)
          error.hidden = false
        }
      } },
      h('label', { for: reason.id }, 'Reason for discarding'),
      reason,
      h('button', { type: 'submit', class: 'danger' }, 'Discard for good'),
      h('button', { type: 'button', onclick: () => container.replaceChildren(open) }, 'Cancel'),
      error,
    )
    container.replaceChildren(form)
    reason.focus()
  } }, 'Discard…')
  container.append(open)
  return container
}

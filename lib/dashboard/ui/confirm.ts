import { h } from './dom.ts'

/**
 * A button that asks before it acts: the question and "Yes" appear in place, so a destructive
 * action (full refresh, watermark reset, cancel) takes two deliberate clicks, keyboard included.
 */
export function confirmButton(label: string, question: string, yes: string, act: () => Promise<void>, className = ''): HTMLElement {
  const container = h('span', { class: 'confirm' })
  const open = h('button', { type: 'button', class: className, onclick: () => {
    const confirm = h('button', { type: 'button', class: 'danger', onclick: async () => {
      confirm.disabled = true
      await act()
      container.replaceChildren(open)
    } }, yes)
    const cancel = h('button', { type: 'button', onclick: () => {
      container.replaceChildren(open)
      open.focus()
    } }, 'Cancel')
    container.replaceChildren(h('span', { role: 'group', 'aria-label': question, class: 'confirm-panel' }, h('span', {}, question), ' ', confirm, ' ', cancel))
    confirm.focus()
  } }, label)
  container.append(open)
  return container
}

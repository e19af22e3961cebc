import { api, ApiError } from '../api.ts'
import { fill, h } from '../dom.ts'
import { session } from '../session.ts'

/**
 * Sign-in with the admin token. The input has no name and the form no action, so the token can
 * never be submitted into a URL, even without JavaScript; it is checked against the admin API
 * before it is kept.
 */
export function signInView(root: HTMLElement, message: string | undefined, signedIn: () => void): void {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'token-hint' })
  const error = h('p', { id: 'sign-in-error', class: 'error', role: 'alert', hidden: true })
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in')
  const fail = (text: string) => {
    error.textContent = text
    error.hidden = false
    input.setAttribute('aria-invalid', 'true')
    input.setAttribute('aria-errormessage', 'sign-in-error')
    input.focus()
  }
  const form = h(
    'form',
    { class: 'sign-in', novalidate: true, onsubmit: (event) => void submit(event) },
    h('h1', {}, 'Sign in to hookferry'),
    message ? h('p', { class: 'notice' }, message) : null,
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Admin token'), input, h('small', { id: 'token-hint' }, 'The token whose SHA-256 is adminTokenSha256 in the server config ("hookferry token --admin" makes one). It stays in this tab only.')),
    error,
    button,
  )
  async function submit(event: Event): Promise<void> {
    event.preventDefault()
    const token = input.value.trim()
    if (!token) return fail('Enter the admin token.')
    button.disabled = true
    button.textContent = 'Signing in…'
    try {
      await api('GET', '/agents', { token })
      input.value = ''
      session.signIn(token)
      signedIn()
    } catch (caught) {
      const reason = caught instanceof ApiError ? `${caught.message} (${caught.code})` : String(caught)
      fail(`Sign-in failed: ${reason}`)
    } finally {
      button.disabled = false
      button.textContent = 'Sign in'
    }
  }
  fill(root, form)
  input.focus()
}

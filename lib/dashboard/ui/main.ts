import './styles.css'
import { whenUnauthorized } from './api.ts'
import { fill, h } from './dom.ts'
import { session } from './session.ts'
import { refreshAges, type View, type ViewContext } from './view.ts'
import { agentsView } from './views/agents.ts'
import { deadLettersView } from './views/dead-letters.ts'
import { overviewView } from './views/overview.ts'
import { requestDetailView } from './views/request-detail.ts'
import { requestsView } from './views/requests.ts'
import { runDetailView } from './views/run-detail.ts'
import { signInView } from './views/sign-in.ts'
import { syncsView } from './views/syncs.ts'

const SCREENS: readonly { path: RegExp; title: string; nav: string; view: View }[] = [
  { path: /^\/$/, title: 'Overview', nav: '#/', view: overviewView },
  { path: /^\/requests$/, title: 'Requests', nav: '#/requests', view: requestsView },
  { path: /^\/requests\/(?<id>[^/]+)$/, title: 'Request', nav: '#/requests', view: requestDetailView },
  { path: /^\/dead-letters$/, title: 'Dead letters', nav: '#/dead-letters', view: deadLettersView },
  { path: /^\/agents$/, title: 'Agents', nav: '#/agents', view: agentsView },
  { path: /^\/syncs$/, title: 'Syncs', nav: '#/syncs', view: syncsView },
  { path: /^\/syncs\/runs\/(?<id>[^/]+)$/, title: 'Sync run', nav: '#/syncs', view: runDetailView },
]
const NAV = SCREENS.filter((screen) => screen.title !== 'Request' && screen.title !== 'Sync run')

const app = document.getElementById('app')!
let leave: (() => void) | undefined
let signInMessage: string | undefined

// The stored token stopped working (rotated, or the admin API was closed): back to sign-in, saying why.
whenUnauthorized((error) => {
  session.signOut()
  signInMessage = `Signed out: ${error.message} (${error.code}).`
  render()
})

function render(): void {
  leave?.()
  leave = undefined
  if (!session.token()) {
    document.title = 'Sign in · hookferry'
    const root = h('main', { id: 'main', tabindex: -1 })
    fill(app, root)
    signInView(root, signInMessage, () => {
      signInMessage = undefined
      render()
    })
    return
  }
  const [path = '/', queryText = ''] = (location.hash.slice(1) || '/').split('?')
  const screen = SCREENS.find((entry) => entry.path.test(path))
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' })
  const root = h('div', { class: 'screen' })
  const main = h('main', { id: 'main', tabindex: -1 }, root)
  const nav = h(
    'nav',
    { 'aria-label': 'Screens' },
    h('ul', {}, NAV.map((entry) => h('li', {}, h('a', { href: entry.nav, ...(screen?.nav === entry.nav ? { 'aria-current': 'page' } : {}) }, entry.title)))),
  )
  const signOut = h('button', { type: 'button', class: 'link-button', onclick: () => {
    session.signOut()
    signInMessage = 'Signed out.'
    location.hash = '#/'
    render()
  } }, 'Sign out')
  fill(app, h('header', { class: 'top' }, h('a', { class: 'brand', href: '#/' }, 'hookferry'), nav, signOut), main, status)

  const timers: number[] = []
  let gone = false
  leave = () => {
    gone = true
    for (const timer of timers) clearInterval(timer)
  }
  if (!screen) {
    document.title = 'Not found · hookferry'
    fill(root, h('h1', {}, 'No such screen'), h('p', {}, 'Pick one above, or go to the ', h('a', { href: '#/' }, 'overview'), '.'))
    return
  }
  document.title = `${screen.title} · hookferry`
  const context: ViewContext = {
    root,
    params: (screen.path.exec(path)?.groups ?? {}) as Record<string, string>,
    query: new URLSearchParams(queryText),
    poll(ms, refresh) {
      let running = false
      const tick = () => {
        if (gone || running || document.hidden) return
        running = true
        refresh().finally(() => {
          running = false
          refreshAges(root)
        })
      }
      tick()
      timers.push(window.setInterval(tick, ms))
    },
    announce: (message) => {
      status.textContent = message
    },
    get gone() {
      return gone
    },
  }
  screen.view(context)
}

// The hash is the router's: the skip link moves the focus instead of changing it.
document.querySelector('a.skip')?.addEventListener('click', (event) => {
  event.preventDefault()
  document.getElementById('main')?.focus()
})
window.addEventListener('hashchange', () => {
  render()
  document.getElementById('main')?.focus()
})
render()

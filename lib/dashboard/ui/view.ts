import { ApiError } from './api.ts'
import { h } from './dom.ts'
import { ago, dateTime } from './format.ts'

/** What a screen gets from the shell. */
export interface ViewContext {
  /** The screen's own element (inside <main>). */
  root: HTMLElement
  /** Path parameters, e.g. the request id of #/requests/{id}. */
  params: Record<string, string>
  /** The query of the hash route (#/requests?state=dead): filters live there, so a view can be linked. */
  query: URLSearchParams
  /** Runs `refresh` now and every `ms` while this screen is shown (skipped while the tab is hidden). */
  poll(ms: number, refresh: () => Promise<void>): void
  /** Says something to screen readers (and shows it in the status line). */
  announce(message: string): void
  /** True once the user left this screen: late answers are dropped. */
  readonly gone: boolean
}

export type View = (context: ViewContext) => void

/** An error as a screen shows it: what failed and the server's own words. */
export function errorBox(what: string, error: unknown): HTMLElement {
  const detail = error instanceof ApiError ? `${error.message} (${error.code})` : String(error)
  return h('div', { class: 'error', role: 'alert' }, h('strong', {}, what), ' ', detail)
}

/** A request state as a badge: text and colour, never colour alone. */
export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `badge state-${state}` }, state)
}

/** Builds #/path?query from filters, leaving empty ones out. */
export function hashOf(path: string, filters: Record<string, string | undefined>): string {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value)
  return `#${path}${query.size > 0 ? `?${query}` : ''}`
}

/** "3 min ago" as a <time>, kept current by the shell between refreshes (see refreshAges). */
export const agoTime = (iso: string): HTMLElement => h('time', { datetime: iso, title: dateTime(iso), 'data-ago': true }, ago(iso))

/** Brings every agoTime under `root` up to date, without re-rendering (so focus and scroll stay). */
export function refreshAges(root: ParentNode): void {
  for (const element of root.querySelectorAll<HTMLTimeElement>('time[data-ago]')) element.textContent = ago(element.dateTime)
}

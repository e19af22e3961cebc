/** A tiny element builder: text is always set as text (never parsed as HTML), so data cannot inject markup. */
export type Child = Node | string | number | false | null | undefined | readonly Child[]
type Props = Record<string, string | number | boolean | undefined | null | ((event: Event) => void)>

function append(parent: Node, child: Child): void {
  if (child === false || child === null || child === undefined) return
  if (Array.isArray(child)) for (const item of child as readonly Child[]) append(parent, item)
  else parent.appendChild(typeof child === 'object' ? (child as Node) : document.createTextNode(String(child)))
}

/** `h('button', { class: 'primary', onclick: go }, 'Replay')`; false/undefined props are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value)
    else element.setAttribute(name, value === true ? '' : String(value))
  }
  append(element, children)
  return element
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, children)
}

const SVG = 'http://www.w3.org/2000/svg'
/** An SVG element with attributes. */
export function svg(tag: string, attributes: Record<string, string | number> = {}, ...children: Node[]): SVGElement {
  const element = document.createElementNS(SVG, tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value))
  for (const child of children) element.appendChild(child)
  return element
}

/** A labelled form control: the label names the control for screen readers and is clickable. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLElement {
  const id = control.id || `f-${label.toLowerCase().replace(/\W+/g, '-')}-${Math.random().toString(36).slice(2, 7)}`
  control.id = id
  const hintId = hint ? `${id}-hint` : undefined
  if (hintId) control.setAttribute('aria-describedby', hintId)
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('small', { id: hintId }, hint) : null)
}

/** A table that scrolls sideways on a narrow screen rather than squeezing its columns. */
export function table(caption: string, headers: readonly string[], rows: readonly HTMLTableRowElement[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h('table', {}, h('caption', { class: 'sr-only' }, caption), h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))), h('tbody', {}, rows)),
  )
}

/** What an empty screen says: what is missing and what to do next. */
export function emptyState(title: string, ...next: Child[]): HTMLElement {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), h('p', {}, next))
}

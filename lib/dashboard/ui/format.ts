/** Time and number formatting, one way for every screen. */

/** "45 s", "3 min", "2 h 5 min", "3 d". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86_400)} d`
}

/** "850 ms", "2.35 s"; "–" when unknown. */
export function milliseconds(ms: number | undefined): string {
  if (ms === undefined) return '–'
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}

/** Seconds from an ISO time to `now` (0 for the future). */
export const secondsSince = (iso: string, now: number = Date.now()): number => Math.max(0, (now - Date.parse(iso)) / 1000)

/** "3 min ago" relative to now. */
export const ago = (iso: string | undefined, now: number = Date.now()): string => (iso ? `${duration(secondsSince(iso, now))} ago` : '–')

/** Local date and time, to the second, in a form that sorts and reads well. */
export function dateTime(iso: string | undefined): string {
  if (!iso) return '–'
  const date = new Date(iso)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/** 1,234. */
export const count = (n: number): string => n.toLocaleString('en-US')

/** A datetime-local input's value as an ISO time (undefined when empty). */
export function isoFromLocalInput(value: string): string | undefined {
  if (!value) return undefined
  const time = new Date(value)
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString()
}

/** A datetime-local value (local time, no zone) for an ISO time. */
export function localInputOf(iso: string | null): string {
  if (!iso) return ''
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return ''
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 19)
}

import { session } from './session.ts'

/** An admin API error as the server sent it: `{"error": {"code", "message"}}`. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

type Listener = (error: ApiError) => void
let onUnauthorized: Listener = () => undefined
/** Called when the API refuses the stored token (it changed, or the admin API was turned off). */
export function whenUnauthorized(listener: Listener): void {
  onUnauthorized = listener
}

/** Calls the admin API with an explicit token (sign-in) or the session's. */
export async function api<T>(method: 'GET' | 'POST', path: string, options: { body?: unknown; token?: string; query?: Record<string, string | number | undefined> } = {}): Promise<T> {
  const token = options.token ?? session.token()
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined && value !== '') query.set(name, String(value))
  const url = `/admin/v1${path}${query.size > 0 ? `?${query}` : ''}`
  let response: Response
  try {
    response = await fetch(url, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      cache: 'no-store',
      credentials: 'omit',
    })
  } catch {
    throw new ApiError(0, 'network.unreachable', 'the hookferry server did not answer: is it running, and is this the right address?')
  }
  const text = await response.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error
    const failure = new ApiError(response.status, error?.code ?? `http.${response.status}`, error?.message ?? `the server answered ${response.status}`)
    if ((response.status === 401 || response.status === 403) && options.token === undefined) onUnauthorized(failure)
    throw failure
  }
  return json as T
}

/** Runs `work` on each item, at most `concurrency` at a time, reporting after each. */
export async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>, done: () => void): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!
      await work(item)
      done()
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

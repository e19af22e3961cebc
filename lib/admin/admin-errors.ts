import { HookferryError } from '../errors.ts'
import type { RequestState } from '../relay/types.ts'

/** 404: no request with that id (never existed, or expired from the ledger). */
export function requestNotFound(id: string): HookferryError {
  return new HookferryError('request.not_found', `no request with id "${id}" (unknown, or expired from the ledger)`, { statusCode: 404 })
}

/** 409: replay and discard apply to dead letters only. */
export function requestNotDead(id: string, action: 'replayed' | 'discarded', state: RequestState | undefined): HookferryError {
  return new HookferryError('request.not_dead', `request "${id}" is ${state ?? 'gone'}, not dead-lettered: only dead letters can be ${action}`, { statusCode: 409 })
}

import type { RelayDeps } from '../relay/deps.ts'

export interface Runtime extends RelayDeps {
  /** Publishes what was counted during one invocation (EMF on AWS; nothing to do locally). */
  flush(): void
}

let current: Promise<Runtime> | undefined

/**
 * Installs the runtime the handlers use. `hookferry serve` installs the embedded one (SQLite)
 * before it loads functions/; on Lambda nothing is installed and the AWS runtime is built lazily
 * once per container, so both run the very same handler modules.
 */
export function installRuntime(runtime: Runtime): void {
  current = Promise.resolve(runtime)
}

export function getRuntime(): Promise<Runtime> {
  current ??= import('./lambda-runtime.ts').then((module) => module.loadLambdaRuntime()).catch((error: unknown) => {
    current = undefined
    throw error
  })
  return current
}

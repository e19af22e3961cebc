/** Runs `stop` once on SIGINT/SIGTERM, then exits 0 (a second signal exits at once). */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130)
    stopping = true
    console.error(`hookferry: ${signal} received, stopping…`)
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`hookferry: error while stopping: ${String(error)}`)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', handle)
  process.once('SIGTERM', handle)
}

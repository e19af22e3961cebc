import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'

/** What a test sets up and must take down again, whatever its outcome. */
export interface TestScope {
  /** Runs `cleanup` after the current test, pass or fail; the last registered runs first. */
  defer(cleanup: () => unknown): void
  /** A fresh temp directory, removed after the test. */
  tempDir(prefix?: string): string
  /** Adds to what is printed when the current test fails (e.g. the output of its processes). */
  explainFailure(explain: () => string): void
}

/**
 * Call once at the top of a test file: each test's processes, servers and temp dirs are taken
 * down after it (even when it fails or times out), and a failing test prints what its
 * processes said, which is most of what one needs to understand an end-to-end failure.
 */
export function useTestScope(): TestScope {
  let cleanups: (() => unknown)[] = []
  let explanations: (() => string)[] = []

  afterEach(async (context) => {
    const failed = context.task.result?.state === 'fail'
    if (failed) for (const explain of explanations) console.error(explain())
    const errors: unknown[] = []
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup()
      } catch (error) {
        errors.push(error)
      }
    }
    cleanups = []
    explanations = []
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup after the test failed')
  })

  return {
    defer: (cleanup) => void cleanups.push(cleanup),
    tempDir(prefix = 'hookferry-e2e-') {
      const path = mkdtempSync(join(tmpdir(), prefix))
      cleanups.push(() => rmSync(path, { recursive: true, force: true }))
      return path
    },
    explainFailure: (explain) => void explanations.push(explain),
  }
}

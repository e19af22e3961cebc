import { defineConfig } from 'vitest/config'

/**
 * The tests `npm run mutate` (Stryker, stryker.config.json) runs against each mutant: the fast unit
 * and contract tests of the mutated folders, contract suites on the SQLite family only (no
 * emulators to start, and DynamoDB Local would dominate the run), end-to-end tests left out.
 * HOOKFERRY_TEST_FAMILIES: test/support/families.ts.
 */
export default defineConfig({
  test: {
    include: ['test/unit/relay/**/*.test.ts', 'test/unit/sources/**/*.test.ts', 'test/unit/agent/**/*.test.ts', 'test/unit/admin/**/*.test.ts', 'test/contract/**/*.test.ts'],
    // The CLI is not mutated: its suite is not run against the mutants.
    exclude: ['test/unit/agent/cli.test.ts'],
    env: { HOOKFERRY_TEST_FAMILIES: 'local' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
})

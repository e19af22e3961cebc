import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

let bounded = false
let settled = false

/**
 * A backfill allocates pages as fast as the API hands them out; left alone, V8 lets the old
 * generation grow to about three times what is live before it compacts (250 MB of RSS for
 * 40 MB live in `npm run bench`). Optimising for size keeps a syncing agent near its idle
 * footprint at no measurable cost in records/s. Process-wide: set once, when the first source
 * with a list is built.
 *
 * V8 reads the flag only when it sets the old generation's next limit, at a full collection: the
 * limit in force is the one set during start-up, at up to four times what was live then, and a
 * run starting right away filled it (RSS +25–30 MB in its first second, over the 150 MB budget)
 * before the first full collection of the run. One full collection here, of the small start-up
 * heap (a few ms), sets the bounded limit before any run starts.
 */
export function boundHeapGrowth(): void {
  if (bounded) return
  bounded = true
  setFlagsFromString('--optimize-for-size')
  collectGarbage()
}

/** Old generation's next limit: 1.3 × what a full collection left live (V8's own factor when it optimises for size). */
const HEAP_GROWING_PERCENT = 30
/** Node flags (command line or NODE_OPTIONS) that mean whoever runs the agent sizes its heap: then it is left alone. */
const HEAP_TUNING = /--(no-)?(optimize[-_]for[-_]size|heap[-_]growing[-_]percent|(max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)\b/

/**
 * Once `hookferry agent` has started (config read, sources built, first poll sent): the heap of a
 * long-running agent sized for it rather than for V8's defaults. Start-up leaves the young
 * generation grown although an idle agent allocates next to nothing, and under sustained load V8
 * lets the old generation grow to three or four times what is live (24 MB live, 88 MB committed,
 * RSS 150–200 MB and still rising after 20 s at concurrency 32 in block 5 of `npm run bench`).
 *
 * So: one full collection while V8 optimises for size, which frees what start-up left and shrinks
 * the young generation (idle RSS 81–84 MB instead of 86–90); then back to normal, because
 * optimising for size for good keeps the young generation at a few MB: 8× the scavenges, 15–40 %
 * fewer records/s under load. What stays is the bound on the old generation's growth
 * (--heap-growing-percent, which V8 reads at each full collection). With the leaner logger and CLI
 * of the same change, highest RSS over 60 s at
 * concurrency 32 142–155 MB instead of 250–262, slope 27–36 MB/min instead of 117–158; records/s
 * within the noise (7 interleaved pairs in block 5, ratio 0.68–1.37, geometric mean 0.97; about 6
 * full collections per 15 s instead of 1). A syncing agent keeps boundHeapGrowth's setting
 * instead; heap flags given to node are left alone.
 */
export function settleAgentHeap(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): void {
  if (settled || bounded) return
  settled = true
  if ([...execArgv, env.NODE_OPTIONS ?? ''].some((flag) => HEAP_TUNING.test(flag))) return
  setFlagsFromString('--optimize-for-size')
  try {
    collectGarbage()
  } finally {
    setFlagsFromString('--no-optimize-for-size')
  }
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
}

/** A full collection without starting Node with --expose-gc: a new context made while the flag is set gets `gc`. */
function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (exposed) return exposed()
  setFlagsFromString('--expose-gc')
  try {
    ;(runInNewContext('gc') as () => void)()
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
}

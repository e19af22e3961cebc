import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { build, type BuildOptions } from 'esbuild'
import { row, valueRow, type Row } from './report.ts'
import { summarize } from './stats.ts'

const run = promisify(execFile)
const FUNCTIONS_DIR = fileURLToPath(new URL('../../functions/', import.meta.url))
const KB = 1024

/**
 * esbuild options as SST 3/4 builds a Node function (pkg/runtime/node/build.go in sst/sst), with
 * this project's `nodejs: { format: 'esm', minify: true }` and no `install`: everything is bundled,
 * the AWS SDK included (SST keeps only sharp and pg-native external; nodejs22.x's own copy of the
 * SDK is not used). https://github.com/sst/sst/blob/dev/pkg/runtime/node/build.go
 */
export const SST_ESBUILD_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'esnext',
  mainFields: ['module', 'main'],
  external: ['sharp', 'pg-native'],
  keepNames: true,
  minify: true,
  sourcemap: false,
  logLevel: 'silent',
  banner: {
    js: [
      `import { createRequire as topLevelCreateRequire } from 'module';`,
      `const require = topLevelCreateRequire(import.meta.url);`,
      `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
      `const __filename = topLevelFileUrlToPath(import.meta.url)`,
      `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
    ].join('\n'),
  },
}

/** A fresh `node` that imports the bundle and prints how long the import took (ms). */
async function coldImportMs(bundle: string): Promise<number> {
  const script = 'const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t))'
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, bundle])
  return Number(stdout)
}

/**
 * Block 4: each function in functions/ bundled as SST would, its size (raw and gzipped, the
 * deployment zip being close to the latter), and its cold import time in a fresh process.
 * The floor is a handler that only answers 202, bundled and imported the same way.
 */
export async function benchColdStart({ dir, imports, progress }: { dir: string; imports: number; progress: (line: string) => void }): Promise<Row[]> {
  const floorSource = join(dir, 'floor-handler.ts')
  writeFileSync(floorSource, "export const handler = async () => ({ statusCode: 202, body: '{\"accepted\":1}' })\n")
  const entries = [floorSource, ...readdirSync(FUNCTIONS_DIR).filter((name) => name.endsWith('.ts')).sort().map((name) => join(FUNCTIONS_DIR, name))]
  const bundles = await Promise.all(
    entries.map(async (entry) => {
      const outfile = join(dir, 'bundles', `${basename(entry, '.ts')}.mjs`)
      await build({ ...SST_ESBUILD_OPTIONS, entryPoints: [entry], outfile })
      return { name: basename(entry, '.ts'), outfile, bytes: statSync(outfile).size, gzipBytes: gzipSync(readFileSync(outfile)).length }
    }),
  )
  const timings = new Map<string, number[]>()
  // Interleaved, so a burst of noise on the machine hits every function alike.
  for (let round = 0; round < imports; round += 1) {
    for (const bundle of bundles) {
      const list = timings.get(bundle.name) ?? []
      list.push(await coldImportMs(bundle.outfile))
      timings.set(bundle.name, list)
    }
  }
  progress(`4 cold start: ${bundles.length - 1} functions bundled and imported ${imports}× each`)
  const [floor, ...functions] = bundles
  const floorImport = summarize(timings.get(floor!.name)!)
  const block = '4 cold start'
  return functions.flatMap((bundle) => [
    valueRow({ block, runtime: 'aws', figure: `${bundle.name} bundle (gzip ${(bundle.gzipBytes / KB).toFixed(0)} KB)`, unit: 'KB' }, bundle.bytes / KB, floor!.bytes / KB),
    row({ block, runtime: 'aws', figure: `${bundle.name} cold import`, unit: 'ms' }, summarize(timings.get(bundle.name)!), { floor: floorImport.median }),
  ])
}

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The parts of a V8 .cpuprofile (written by `node --cpu-prof`) that the summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  /** Process id, from the profile's file name. */
  pid: string
  busyMs: number
  idleMs: number
  /** Self time by function and by package or source file, busiest first, as shares of busy time. */
  functions: [string, number][]
  modules: [string, number][]
}

const ROOT = new URL('../../', import.meta.url).href

function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)'
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1]
  return pkg ?? url.replace(ROOT, '')
}

/** Self time per function and per module of one profile, idle time apart. */
export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const functions = new Map<string, number>()
  const modules = new Map<string, number>()
  let busyMs = 0
  let idleMs = 0
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index] ?? 0) / 1000
    const frame = nodes.get(id)!
    if (frame.functionName === '(idle)') {
      idleMs += ms
      return
    }
    busyMs += ms
    const where = moduleOf(frame.url, frame.functionName)
    const name = `${frame.functionName || '(anonymous)'} ${where}${frame.url ? `:${frame.lineNumber + 1}` : ''}`
    functions.set(name, (functions.get(name) ?? 0) + ms)
    modules.set(where, (modules.get(where) ?? 0) + ms)
  })
  const ranked = (map: Map<string, number>): [string, number][] =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => [name, ms / busyMs])
  return { pid: /\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1] ?? '?', busyMs, idleMs, functions: ranked(functions), modules: ranked(modules) }
}

/** Every profile written to `dir`. */
export const profilesIn = (dir: string): ProfileSummary[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .map((name) => summarizeProfile(join(dir, name)))

import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LOOP_GUARD_FILE, LoopGuard } from '../../../lib/agent/loop-guard.ts'
import { loadSqliteQuietly } from '../../../lib/sqlite/load-sqlite.ts'
import { tempDir } from './helpers.ts'

/**
 * The loop guard's store in dataDir: a sync run's chunk remembered as one unit, per destination,
 * what is left on disk for a second agent process, and a first-version file upgraded.
 */
const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

function open(now: () => number = Date.now) {
  const dir = tempDir()
  cleanups.push(dir.remove)
  const guard = new LoopGuard(dir.path, now)
  cleanups.unshift(() => guard.close())
  return { dir: dir.path, guard }
}

const crm = { source: 'crm', destination: 'sink-a' }

describe('loop guard store', () => {
  it('remembers a whole chunk for its destination only, and an empty chunk changes nothing', () => {
    const { guard } = open()
    guard.rememberAll(crm, [])
    guard.rememberAll(crm, [
      { recordKey: 'crm##1', contentHash: 'h1' },
      { recordKey: 'crm##2', contentHash: 'h2' },
    ])
    expect(guard.isUnchanged(crm, 'crm##1', 'h1')).toBe(true)
    expect(guard.isUnchanged(crm, 'crm##2', 'h2')).toBe(true)
    expect(guard.isUnchanged({ ...crm, destination: 'sink-b' }, 'crm##1', 'h1')).toBe(false)
    // A later chunk overwrites the hash of a record it delivers again.
    guard.rememberAll(crm, [{ recordKey: 'crm##1', contentHash: 'h1-changed' }])
    expect(guard.isUnchanged(crm, 'crm##1', 'h1')).toBe(false)
    expect(guard.isUnchanged(crm, 'crm##1', 'h1-changed')).toBe(true)
  })

  it('remembers none of a chunk that fails part way, and keeps working afterwards', () => {
    const { guard } = open()
    const broken = [
      { recordKey: 'crm##1', contentHash: 'h1' },
      { recordKey: 'crm##2', contentHash: undefined as unknown as string },
    ]
    expect(() => guard.rememberAll(crm, broken)).toThrow()
    expect(guard.isUnchanged(crm, 'crm##1', 'h1')).toBe(false)
    guard.rememberAll(crm, [{ recordKey: 'crm##3', contentHash: 'h3' }])
    guard.remember(crm, 'crm##4', 'h4')
    expect(guard.isUnchanged(crm, 'crm##3', 'h3')).toBe(true)
    expect(guard.isUnchanged(crm, 'crm##4', 'h4')).toBe(true)
  })

  it('dates a chunk by the clock, so prune forgets it like single deliveries', () => {
    let now = Date.parse('2030-01-01T00:00:00Z')
    const { guard } = open(() => now)
    guard.rememberAll(crm, [{ recordKey: 'crm##old', contentHash: 'h1' }])
    now += 40 * 86_400_000
    guard.rememberAll(crm, [{ recordKey: 'crm##new', contentHash: 'h2' }])
    expect(guard.prune('crm', 30)).toBe(1)
    expect(guard.isUnchanged(crm, 'crm##old', 'h1')).toBe(false)
    expect(guard.isUnchanged(crm, 'crm##new', 'h2')).toBe(true)
  })

  it('keeps the file in WAL mode with its age index, drops the first version\'s table, and closes once', () => {
    const dir = tempDir()
    cleanups.push(dir.remove)
    const { DatabaseSync } = loadSqliteQuietly()
    const first = new DatabaseSync(join(dir.path, LOOP_GUARD_FILE))
    first.exec('CREATE TABLE delivered (source TEXT, record_key TEXT, content_hash TEXT)')
    first.close()

    const guard = new LoopGuard(dir.path)
    guard.remember(crm, 'crm##1', 'h1')
    const look = new DatabaseSync(join(dir.path, LOOP_GUARD_FILE), { readOnly: true })
    try {
      expect(look.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' })
      const names = look.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name").all().map((row) => row.name)
      expect(names).toContain('delivered_to_age')
      expect(names).not.toContain('delivered')
    } finally {
      look.close()
    }
    guard.close()
    expect(() => guard.isUnchanged(crm, 'crm##1', 'h1')).toThrow()
    expect(() => guard.close()).not.toThrow()
  })
})

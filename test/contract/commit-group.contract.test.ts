import type { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import { StorageUnavailableError } from '../../lib/errors.ts'
import { CommitGroup, commitGroupOf, CommitUnit, type LogSyncer } from '../../lib/ports/local/commit-group.ts'
import { openDatabase } from '../../lib/ports/local/open-database.ts'
import { openTempSqlite, type TempSqlite } from '../support/emulators.ts'

/**
 * The embedded store's group commit: calls of one event-loop turn share one transaction, and no
 * caller learns a result before the commit that holds it. Another connection to the same file
 * (as another process would be) shows what is really committed at each moment.
 */
let sqlite: TempSqlite
let other: DatabaseSync
afterEach(() => {
  other?.close()
  sqlite?.cleanup()
})

function setUp(): { write(value: string): Promise<string>; committed(): string[] } {
  sqlite = openTempSqlite()
  sqlite.db.exec('CREATE TABLE notes (value TEXT NOT NULL)')
  other = openDatabase(sqlite.file)
  const group = commitGroupOf(sqlite.db)
  const insert = sqlite.db.prepare('INSERT INTO notes (value) VALUES (?)')
  return {
    write: (value) => group.write('note write', () => (insert.run(value), value)),
    committed: () => (other.prepare('SELECT value FROM notes ORDER BY value').all() as { value: string }[]).map((row) => row.value),
  }
}

describe('the SQLite commit group', () => {
  it('commits the calls of one turn together and answers each only after that commit', async () => {
    const notes = setUp()
    const seenAtAnswer: string[][] = []
    const calls = ['a', 'b', 'c'].map((value) => notes.write(value).then(() => seenAtAnswer.push(notes.committed())))
    // All three ran, none is committed yet: one commit for the turn, not one each.
    expect(notes.committed()).toEqual([])
    await Promise.all(calls)
    expect(seenAtAnswer).toEqual([['a', 'b', 'c'], ['a', 'b', 'c'], ['a', 'b', 'c']])
  })

  it('undoes a failing call alone: the others of its group still commit', async () => {
    const notes = setUp()
    const group = commitGroupOf(sqlite.db)
    const failing = group.write('note write', () => {
      sqlite.db.prepare("INSERT INTO notes (value) VALUES ('half')").run()
      throw new Error('decided against it')
    })
    const [before, after] = [notes.write('before'), notes.write('after')]
    await expect(failing).rejects.toThrow('decided against it')
    await Promise.all([before, after])
    expect(notes.committed()).toEqual(['after', 'before'])
  })

  it('answers a read that saw uncommitted rows only after they are committed', async () => {
    const notes = setUp()
    const group = commitGroupOf(sqlite.db)
    const write = notes.write('pending')
    const read = group.read('note read', () => sqlite.db.prepare('SELECT COUNT(*) AS n FROM notes').get() as { n: number })
    const order: string[] = []
    await Promise.all([write.then(() => order.push('write')), read.then(({ n }) => order.push(`read ${n}, committed ${notes.committed().length}`))])
    expect(order).toEqual(['write', 'read 1, committed 1'])
  })

  it('answers a read at once when no transaction is open', async () => {
    const notes = setUp()
    await notes.write('done')
    const group = commitGroupOf(sqlite.db)
    let answered = false
    const read = group.read('note read', () => 1).then(() => (answered = true))
    await Promise.resolve()
    expect(answered).toBe(true)
    await read
  })

  it('rejects every call of a group whose commit fails, and none of it is on disk', async () => {
    const notes = setUp()
    const calls = [notes.write('x'), notes.write('y')]
    // The connection goes away before the turn ends: COMMIT cannot run.
    sqlite.db.close()
    for (const call of calls) await expect(call).rejects.toBeInstanceOf(StorageUnavailableError)
    expect(notes.committed()).toEqual([])
  })

  it('commits the open group before a transaction of its own (flush)', async () => {
    const notes = setUp()
    const write = notes.write('early')
    commitGroupOf(sqlite.db).flush()
    expect(notes.committed()).toEqual(['early'])
    await write
  })

  it('answers the calls of a unit at once, and its durable() only after their commit', async () => {
    const notes = setUp()
    const group = commitGroupOf(sqlite.db)
    const unit = new CommitUnit()
    const insert = sqlite.db.prepare('INSERT INTO notes (value) VALUES (?)')
    await group.write('note write', () => insert.run('first'), unit)
    // The unit's next call sees the first one: same transaction, still uncommitted.
    expect(await group.read('note read', () => (sqlite.db.prepare('SELECT COUNT(*) AS n FROM notes').get() as { n: number }).n, unit)).toBe(1)
    expect(notes.committed()).toEqual([])
    await unit.durable()
    expect(notes.committed()).toEqual(['first'])
  })

  it('rejects durable() of a unit whose commit failed', async () => {
    setUp()
    const group = commitGroupOf(sqlite.db)
    const unit = new CommitUnit()
    await group.write('note write', () => sqlite.db.prepare("INSERT INTO notes (value) VALUES ('lost')").run(), unit)
    sqlite.db.close()
    await expect(unit.durable()).rejects.toBeInstanceOf(StorageUnavailableError)
  })

  it('commits a file database with synchronous = NORMAL and syncs the log itself (off the event loop)', () => {
    setUp()
    const synchronous = () => (sqlite.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous
    expect(synchronous()).toBe(1)
    const memory = openDatabase(':memory:')
    new CommitGroup(memory)
    // No file, no log to sync: FULL stays (2), and COMMIT settles its calls itself.
    expect((memory.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous).toBe(2)
    memory.close()
  })
})

describe('the SQLite commit group, with the log sync held back', () => {
  /** A syncer whose syncs end only when the test says so. */
  function heldSyncer(): LogSyncer & { started: number; release(error?: Error): void } {
    const pending: { resolve(): void; reject(error: Error): void }[] = []
    return {
      started: 0,
      sync() {
        this.started += 1
        return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }))
      },
      syncNow() {},
      release(error) {
        const next = pending.shift()!
        if (error) next.reject(error)
        else next.resolve()
      },
    }
  }
  const turn = () => new Promise((resolve) => setImmediate(resolve))

  function setUpHeld(): { group: CommitGroup; syncer: ReturnType<typeof heldSyncer>; insert(value: string, unit?: CommitUnit): Promise<unknown>; committed(): string[] } {
    sqlite = openTempSqlite()
    sqlite.db.exec('CREATE TABLE notes (value TEXT NOT NULL)')
    other = openDatabase(sqlite.file)
    const syncer = heldSyncer()
    const group = new CommitGroup(sqlite.db, syncer)
    const statement = sqlite.db.prepare('INSERT INTO notes (value) VALUES (?)')
    return {
      group,
      syncer,
      insert: (value, unit) => group.write('note write', () => statement.run(value), unit),
      committed: () => (other.prepare('SELECT value FROM notes ORDER BY value').all() as { value: string }[]).map((row) => row.value),
    }
  }

  it('answers no call before the sync after its commit; the next turns commit meanwhile and share the next sync', async () => {
    const notes = setUpHeld()
    let firstAnswered = false
    const first = notes.insert('a').then(() => (firstAnswered = true))
    await turn()
    // Committed (another connection sees it), but not synced: not answered.
    expect(notes.committed()).toEqual(['a'])
    expect(notes.syncer.started).toBe(1)
    const later = [notes.insert('b'), notes.insert('c')]
    await turn()
    const third = notes.insert('d')
    await turn()
    // The event loop went on: two more groups committed while the first sync ran, none synced yet.
    expect(notes.committed()).toEqual(['a', 'b', 'c', 'd'])
    expect(notes.syncer.started).toBe(1)
    expect(firstAnswered).toBe(false)
    notes.syncer.release()
    await first
    // One sync for everything committed meanwhile.
    await turn()
    expect(notes.syncer.started).toBe(2)
    notes.syncer.release()
    await Promise.all([...later, third])
  })

  it('holds a read outside any transaction until the sync in progress ends (it may have seen unsynced rows)', async () => {
    const notes = setUpHeld()
    const write = notes.insert('a')
    await turn()
    let answered = false
    const read = notes.group.read('note read', () => (sqlite.db.prepare('SELECT COUNT(*) AS n FROM notes').get() as { n: number }).n).then((n) => ((answered = true), n))
    await turn()
    expect(answered).toBe(false)
    notes.syncer.release()
    await write
    await turn()
    notes.syncer.release()
    expect(await read).toBe(1)
  })

  it('resolves a unit\'s durable() only after the sync', async () => {
    const notes = setUpHeld()
    const unit = new CommitUnit()
    await notes.insert('a', unit)
    let durable = false
    const waiting = unit.durable().then(() => (durable = true))
    await turn()
    await turn()
    expect(notes.committed()).toEqual(['a'])
    expect(durable).toBe(false)
    notes.syncer.release()
    await waiting
  })

  it('rejects the calls of a failed sync and every later call as storage unavailable', async () => {
    const notes = setUpHeld()
    const first = notes.insert('a')
    await turn()
    const second = notes.insert('b')
    await turn()
    notes.syncer.release(new Error('EIO'))
    await expect(first).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(second).rejects.toThrow('could not sync the database log to disk; restart hookferry')
    await expect(notes.insert('c')).rejects.toBeInstanceOf(StorageUnavailableError)
    await expect(notes.group.read('note read', () => 1)).rejects.toBeInstanceOf(StorageUnavailableError)
  })

  it('close() syncs what waits for a sync and answers it', async () => {
    const notes = setUpHeld()
    const write = notes.insert('a')
    notes.group.close()
    await write
    expect(notes.committed()).toEqual(['a'])
  })
})

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const thisFile = 'test/unit/self-contained.test.ts'

describe('the repository', () => {
  it('reads nothing outside itself: no tracked file refers to a sibling folder such as ../shared', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter((file) => file && file !== thisFile && !file.endsWith('package-lock.json'))
    const offenders = files.filter((file) => /(?:\.\.\/)+shared\//.test(readFileSync(`${root}${file}`, 'utf8')))
    expect(offenders).toEqual([])
  })
})

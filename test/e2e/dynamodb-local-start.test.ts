import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { spawnDynamoDbLocal, waitForDynamoDbLocal } from '../support/dynamodb-local.ts'
import { useTestScope } from '../support/test-scope.ts'

/** The test run's DynamoDB Local, when the java it is given cannot run it. */
const scope = useTestScope()

/** A `java` that exists but fails, as a broken JRE or one too old for the jar does. */
function brokenJava(): string {
  const java = join(scope.tempDir('hookferry-fake-java-'), 'java')
  writeFileSync(java, '#!/bin/sh\necho "Error: could not find libjava.so" >&2\necho "Error: Could not find Java SE Runtime Environment." >&2\nexit 1\n', { mode: 0o755 })
  return java
}

const failureOf = (promise: Promise<unknown>): Promise<Error | undefined> => promise.then(() => undefined, (error: Error) => error)

describe('DynamoDB Local for the tests', () => {
  it('fails at once, with what java printed and the package to install, when HOOKFERRY_TEST_JAVA exits 1', async () => {
    vi.stubEnv('HOOKFERRY_TEST_JAVA', brokenJava())
    scope.defer(() => vi.unstubAllEnvs())
    const reported: string[] = []
    const started = Date.now()
    const dynamoDbLocal = await spawnDynamoDbLocal({ onFailure: (message) => reported.push(message) })
    scope.defer(() => dynamoDbLocal.stop())

    const error = await failureOf(waitForDynamoDbLocal(dynamoDbLocal.info))
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(error?.message).toMatch(/^DynamoDB Local did not start: `.*\/java` exited with code 1 before it answered/)
    expect(error?.message).toContain('Error: Could not find Java SE Runtime Environment.')
    expect(error?.message).toContain('apt-get install openjdk-17-jre-headless')
    // Reported once by the setup; every later test that waits gets the same cause at once.
    expect(reported).toEqual([error?.message])
    const again = Date.now()
    expect((await failureOf(waitForDynamoDbLocal(dynamoDbLocal.info)))?.message).toBe(error?.message)
    expect(Date.now() - again).toBeLessThan(100)
  })

  it('names a HOOKFERRY_TEST_JAVA that is not an executable file', async () => {
    const notThere = join(scope.tempDir('hookferry-fake-java-'), 'java')
    const dynamoDbLocal = await spawnDynamoDbLocal({ java: notThere })
    const error = await failureOf(waitForDynamoDbLocal(dynamoDbLocal.info))
    expect(error?.message).toBe(`HOOKFERRY_TEST_JAVA=${notThere} is not an executable file. DynamoDB Local needs a working Java 17+: apt-get install openjdk-17-jre-headless (or point HOOKFERRY_TEST_JAVA at a java that works). Only the DynamoDB tests need it.`)
  })
})

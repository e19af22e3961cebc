import type { TestProject } from 'vitest/node'
import { spawnDynamoDbLocal } from './dynamodb-local.ts'

/**
 * Starts the emulators the whole run shares: one DynamoDB Local (tests isolate themselves by table
 * name). It is not awaited here, so runs that never touch DynamoDB do not wait for the JVM.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A JVM that dies is reported here once, with its cause; the tests that need it fail at once with the same text.
  const dynamoDbLocal = await spawnDynamoDbLocal({ onFailure: (message) => console.error(message) })
  if ('error' in dynamoDbLocal.info) console.error(dynamoDbLocal.info.error)
  project.provide('dynamoDbLocal', dynamoDbLocal.info)
  return () => dynamoDbLocal.stop()
}

import type { TestProject } from 'vitest/node'
import { spawnDynamoDbLocal } from './dynamodb-local.ts'

/**
 * Starts the emulators the whole run shares: one DynamoDB Local (tests isolate themselves by table
 * name). It is not awaited here, so runs that never touch DynamoDB do not wait for the JVM.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dynamoDbLocal = await spawnDynamoDbLocal()
  if ('error' in dynamoDbLocal.info) console.error(dynamoDbLocal.info.error)
  project.provide('dynamoDbLocal', dynamoDbLocal.info)
  return () => dynamoDbLocal.stop()
}

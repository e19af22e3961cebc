import { randomUUID } from 'node:crypto'
import { Logger } from '@aws-lambda-powertools/logger'
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics'
import type { ServerConfig } from '../config/server-config.ts'
import { DynamoLedger } from '../ports/aws/dynamo-ledger.ts'
import { SqsWorkQueue } from '../ports/aws/sqs-queue.ts'
import { compileAllSources } from '../relay/compiled-sources.ts'
import type { Log } from '../relay/deps.ts'
import { linkedResource } from './linked-resource.ts'
import type { Runtime } from './runtime.ts'

/**
 * The AWS runtime around an already loaded config: SQS, DynamoDB, Powertools. It imports no
 * config parser, so a Lambda that reads the deploy-time JSON config (lambda-runtime.ts) never
 * loads the YAML parser.
 */
export function awsRuntimeFor(config: ServerConfig, env: NodeJS.ProcessEnv = process.env): Runtime {
  compileAllSources(config)
  const logger = new Logger({ serviceName: 'hookferry' })
  const metrics = new Metrics({ namespace: 'hookferry', serviceName: 'hookferry' })
  const log: Log = {
    debug: (message, fields) => logger.debug(message, fields ?? {}),
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    error: (message, fields) => logger.error(message, fields ?? {}),
  }
  return {
    config,
    ledger: new DynamoLedger({ tableName: linkedResource('Ledger', 'name', env) }),
    queue: new SqsWorkQueue({ queueUrl: linkedResource('Queue', 'url', env) }),
    log,
    metrics: {
      count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
      gauge: (name, value, unit = 'Count', dimensions) => {
        // EMF gives every metric of one flush the same dimensions: a per-job series is flushed on its own.
        const target = dimensions ? metrics.singleMetric() : metrics
        for (const [key, dimension] of Object.entries(dimensions ?? {})) target.addDimension(key, dimension)
        target.addMetric(name, unit === 'Seconds' ? MetricUnit.Seconds : MetricUnit.Count, value)
      },
    },
    flush: () => metrics.publishStoredMetrics(),
    now: () => new Date(),
    newId: randomUUID,
    random: Math.random,
  }
}

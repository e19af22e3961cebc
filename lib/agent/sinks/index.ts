import type { DeliverConfig } from '../config.ts'
import type { HttpClient } from '../http-client.ts'
import { createFileSink } from './file-sink.ts'
import { createHttpSink } from './http-sink.ts'
import { createModuleSink } from './module-sink.ts'
import type { Sink } from './sink.ts'
import { createMysqlSink } from './sql/mysql-sink.ts'
import { createPostgresSink } from './sql/postgres-sink.ts'

export interface SinkContext {
  http: HttpClient
  /** Config key of the block (e.g. `sources.stripe.deliver`), for messages. */
  key: string
  now?: () => number
}

/** The sink for a source's `deliver` block. Add a case here to add a kind of sink. */
export async function createSink(config: DeliverConfig, context: SinkContext): Promise<Sink> {
  switch (config.type) {
    case 'http':
      return createHttpSink(config, context)
    case 'file':
      return createFileSink(config, context)
    case 'module':
      return createModuleSink(config, context.key)
    case 'postgres':
      return createPostgresSink(config, context.key)
    case 'mysql':
      return createMysqlSink(config, context.key)
  }
}

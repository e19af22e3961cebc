import type { DeliverConfig } from '../config.ts'
import type { HttpClient } from '../http-client.ts'
import { createFileSink } from './file-sink.ts'
import { createHttpSink } from './http-sink.ts'
import { createModuleSink } from './module-sink.ts'
import type { Sink } from './sink.ts'

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
    // Loaded on first use: an agent without database sinks does not carry the drivers.
    case 'postgres':
      return (await import('./sql/postgres-sink.ts')).createPostgresSink(config, context.key)
    case 'mysql':
      return (await import('./sql/mysql-sink.ts')).createMysqlSink(config, context.key)
  }
}

import { loadYamlConfig } from '../config/load-yaml.ts'
import { serverConfigSchema } from '../config/server-config.ts'
import { awsRuntimeFor } from './aws-services.ts'
import type { Runtime } from './runtime.ts'

/**
 * Builds the AWS runtime from a YAML config file (HOOKFERRY_CONFIG), at once: for processes that
 * run the AWS adapters outside Lambda (the bench's AWS cloud). Lambda itself goes through
 * lambda-runtime.ts, which reads the JSON that sst.config.ts wrote at deploy time.
 */
export function createAwsRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  return awsRuntimeFor(loadYamlConfig(serverConfigSchema, env.HOOKFERRY_CONFIG ?? 'hookferry.yaml', env), env)
}

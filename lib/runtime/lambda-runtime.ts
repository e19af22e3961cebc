import { serverConfigSchema } from '../config/server-config.ts'
import { awsRuntimeFor } from './aws-services.ts'
import { DEPLOYED_CONFIG_FILE, loadJsonConfig } from './json-config.ts'
import type { Runtime } from './runtime.ts'

/**
 * The runtime a Lambda builds once per container (lib/runtime/runtime.ts). The config is the
 * JSON sst.config.ts wrote at deploy time; a YAML file (HOOKFERRY_CONFIG ending in .yaml/.yml,
 * e.g. handlers run against emulators) is still read, its parser loaded only then.
 */
export async function loadLambdaRuntime(env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  const file = env.HOOKFERRY_CONFIG ?? DEPLOYED_CONFIG_FILE
  const config = file.endsWith('.json')
    ? loadJsonConfig(serverConfigSchema, file, env)
    : (await import('../config/load-yaml.ts')).loadYamlConfig(serverConfigSchema, file, env)
  return awsRuntimeFor(config, env)
}

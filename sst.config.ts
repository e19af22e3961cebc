// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- SST's globals ($config, sst, aws) live in generated types
/// <reference path="./.sst/platform/config.d.ts" />

/**
 * The cloud half on AWS: API Gateway HTTP API → one Lambda per route of lib/http/routes.ts,
 * an SQS work queue (pulled by the agent through the API, so it has no subscriber) with a
 * dead-letter queue, the DynamoDB ledger, a repair cron, and alarms.
 * Deploy-time settings (environment of `sst deploy`):
 *   HOOKFERRY_CONFIG   path of the YAML config file; converted to JSON and copied into every function (default hookferry.yaml)
 *   HOOKFERRY_SECRETS  comma-separated sst.Secret names the config references as ${Name}
 *   HOOKFERRY_AGENT_SILENT_ALARM_SECONDS, HOOKFERRY_BACKLOG_ALARM_SECONDS  alarm thresholds
 */
export default $config({
  app(input) {
    return {
      name: 'hookferry',
      home: 'aws',
      removal: input.stage === 'production' ? 'retain' : 'remove',
      protect: input.stage === 'production',
    }
  },
  async run() {
    // One source of truth for the routes: `hookferry serve` routes local requests with the same list.
    const { ROUTES } = await import('./lib/http/routes.ts')

    const configPath = process.env.HOOKFERRY_CONFIG ?? 'hookferry.yaml'
    // The functions get the config as JSON, converted here (a YAML syntax error fails the deploy):
    // no YAML parser in their bundles' cold start. `${Name}` references stay for them to resolve.
    const { mkdirSync, readFileSync, writeFileSync } = await import('node:fs')
    const { configYamlToJson } = await import('./lib/runtime/deploy-config.ts')
    const { DEPLOYED_CONFIG_FILE } = await import('./lib/runtime/json-config.ts')
    let configText: string
    try {
      configText = readFileSync(configPath, 'utf8')
    } catch (error) {
      throw new Error(`HOOKFERRY_CONFIG: cannot read ${configPath}: ${(error as Error).message}`, { cause: error })
    }
    mkdirSync('.sst', { recursive: true })
    const deployedConfig = `.sst/${DEPLOYED_CONFIG_FILE}`
    writeFileSync(deployedConfig, configYamlToJson(configText, configPath))
    const secretNames = (process.env.HOOKFERRY_SECRETS ?? 'GithubWebhookSecret,StripeWebhookSecret')
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '')
    for (const name of secretNames) {
      // lib/config/env-refs.ts resolves ${Name} from SST_RESOURCE_<Name>, so the name must be a valid identifier.
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`HOOKFERRY_SECRETS: "${name}" is not an alphanumeric secret name`)
    }
    const secrets = secretNames.map((name) => new sst.Secret(name))

    // Must match what lib/runtime/aws-services.ts emits: Powertools Metrics publishes every metric with
    // its `service` dimension, and an alarm only sees a metric whose dimensions match exactly.
    const metricsNamespace = 'hookferry'
    const serviceName = 'hookferry'

    $transform(sst.aws.Function, (args) => {
      // SST defaults to nodejs24.x; the project targets Node 22 everywhere.
      args.runtime = 'nodejs22.x'
      args.architecture ??= 'arm64'
      // The AWS SDK stays bundled (minified, tree-shaken): the runtime's own copy, loaded from its
      // node_modules, made a cold start slower, not faster (README, Performance). Splitting puts what
      // a handler reaches only through `await import()` (the runtime, the YAML parser, the SDK's
      // SSO/STS/INI credential providers) into chunks loaded when first used.
      args.nodejs ??= { format: 'esm', minify: true, splitting: true }
    })

    // 14 days (the SQS maximum): an agent may be offline for days, and the ledger must still find its message.
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
    const retention = { queue: { messageRetentionSeconds: 14 * 24 * 60 * 60 } }
    const deadLetters = new sst.aws.Queue('DeadLetters', { visibilityTimeout: '60 seconds', transform: retention })
    // The ledger counts attempts itself and dead-letters deliberately; maxReceiveCount is only the backstop
    // for a message that keeps failing without ever reaching the ledger.
    const queue = new sst.aws.Queue('Queue', {
      visibilityTimeout: '60 seconds',
      dlq: { queue: deadLetters.arn, retry: 15 },
      transform: retention,
    })

    const ledger = new sst.aws.Dynamo('Ledger', {
      fields: { pk: 'string', sk: 'string', gsi1pk: 'string', gsi1sk: 'string' },
      primaryIndex: { hashKey: 'pk', rangeKey: 'sk' },
      // Keys only: listing reads the items with BatchGetItem, and writes that keep an item's index keys cost no index write.
      globalIndexes: { gsi1: { hashKey: 'gsi1pk', rangeKey: 'gsi1sk', projection: 'keys-only' } },
      ttl: 'expiresAt',
    })

    /** Every function reads the same config file and reaches the same resources. */
    const fn = (handler: string, timeoutSeconds: number, memoryMB = 1024): sst.aws.FunctionArgs => ({
      handler,
      timeout: `${timeoutSeconds} seconds`,
      memory: `${memoryMB} MB`,
      link: [queue, deadLetters, ledger, ...secrets],
      copyFiles: [{ from: deployedConfig, to: DEPLOYED_CONFIG_FILE }],
      environment: {
        HOOKFERRY_CONFIG: DEPLOYED_CONFIG_FILE,
        HOOKFERRY_RUNTIME: 'aws',
      },
    })

    // The dashboard is built on every deploy (lib/dashboard/ui → dist/dashboard), so the page served at /ui
    // always matches this checkout; functions/dashboard.ts serves it from its own bundle.
    const { execFileSync } = await import('node:child_process')
    execFileSync('npm', ['run', '--silent', 'build:dashboard'], { stdio: 'inherit' })
    const dashboardFn = (args: sst.aws.FunctionArgs): sst.aws.FunctionArgs => ({
      ...args,
      // Static files only: no config, no links (it never touches the ledger or the queues).
      link: [],
      copyFiles: [{ from: 'dist/dashboard', to: 'dashboard' }],
      environment: { HOOKFERRY_DASHBOARD_DIR: 'dashboard' },
    })

    const api = new sst.aws.ApiGatewayV2('Api')
    // One Lambda per handler module: several routes (the admin API) may share one, which keeps it warm.
    const functions = new Map<string, sst.aws.Function>()
    for (const { route, fn: module, timeoutSeconds, memoryMB } of ROUTES) {
      let handler = functions.get(module)
      if (!handler) {
        const name = module.replace(/(^|-)(\w)/g, (_match, _dash, letter: string) => letter.toUpperCase())
        const args = fn(`functions/${module}.handler`, timeoutSeconds, memoryMB)
        handler = new sst.aws.Function(`Fn${name}`, module === 'dashboard' ? dashboardFn(args) : args)
        functions.set(module, handler)
      }
      api.route(route, handler.arn)
    }

    deadLetters.subscribe(fn('functions/dead-letter.handler', 30), { batch: { partialResponses: true } })

    // Repairs stuck states (queued requests whose message was never sent, expired leases) and emits the
    // agent-silence and backlog metrics the alarms below watch.
    new sst.aws.CronV2('Repair', { schedule: 'rate(1 minute)', function: fn('functions/repair.handler', 55) })
    // Turns the sync jobs' due cron slots (server config `jobs`, read with croner in each job's time
    // zone) into runs. Its own function, not part of Repair: a long repair sweep or a failing alert
    // check must not delay or skip a slot. A run starts within a minute of its slot.
    new sst.aws.CronV2('SyncSchedule', { schedule: 'rate(1 minute)', function: fn('functions/sync-schedule.handler', 30) })

    const alerts = new sst.aws.SnsTopic('Alerts')
    const alarm = (name: string, args: aws.cloudwatch.MetricAlarmArgs) =>
      new aws.cloudwatch.MetricAlarm(name, {
        alarmActions: [alerts.arn],
        okActions: [alerts.arn],
        period: 60,
        ...args,
      })
    const custom: Partial<aws.cloudwatch.MetricAlarmArgs> = { namespace: metricsNamespace, dimensions: { service: serviceName }, statistic: 'Maximum' }

    alarm('AgentSilentAlarm', {
      ...custom,
      alarmDescription: 'No hookferry agent has sent a heartbeat for too long',
      metricName: 'AgentSilentSeconds',
      comparisonOperator: 'GreaterThanThreshold',
      threshold: Number(process.env.HOOKFERRY_AGENT_SILENT_ALARM_SECONDS ?? 300),
      evaluationPeriods: 2,
      // Repair emits this every minute: no data means the watchdog itself has stopped.
      treatMissingData: 'breaching',
    })
    alarm('BacklogAlarm', {
      ...custom,
      alarmDescription: 'The oldest waiting execute request is older than the threshold',
      metricName: 'OldestWaitingRequestAgeSeconds',
      comparisonOperator: 'GreaterThanThreshold',
      threshold: Number(process.env.HOOKFERRY_BACKLOG_ALARM_SECONDS ?? 900),
      evaluationPeriods: 2,
      treatMissingData: 'notBreaching',
    })
    alarm('SyncStalledAlarm', {
      ...custom,
      alarmDescription: 'A sync job\'s watermark has not moved for more than its alertAfterIntervals schedule intervals',
      metricName: 'SyncJobsStalled',
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
      evaluationPeriods: 2,
      // Emitted every minute by Repair (0 without jobs); a stopped watchdog is AgentSilentAlarm's to report.
      treatMissingData: 'notBreaching',
    })
    alarm('DeadLettersAlarm', {
      alarmDescription: 'Messages are waiting in the dead-letter queue (its subscriber is not draining it)',
      namespace: 'AWS/SQS',
      metricName: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: deadLetters.nodes.queue.name },
      statistic: 'Maximum',
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
      // The subscriber drains a new message within seconds; visible for five minutes straight means it is failing.
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      treatMissingData: 'notBreaching',
    })

    return {
      webhookUrl: $interpolate`${api.url}/hooks/{source}`,
      agentApiUrl: api.url,
      dashboardUrl: $interpolate`${api.url}/ui`,
      queueUrl: queue.url,
      table: ledger.name,
      alertsTopic: alerts.arn,
    }
  },
})

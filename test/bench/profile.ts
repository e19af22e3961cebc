/**
 * `node test/bench/profile.ts [ingest|e2e] [embedded|aws] [seconds]`: the bench's load with
 * `node --cpu-prof` on the cloud (and, for e2e, the agent), then where each process spent its
 * time: self time by function and by package, and busy ms per webhook. The raw .cpuprofile files
 * stay in the printed folder (open them in Chrome DevTools → Performance).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAwsEmulators, type AwsEmulators } from './aws-emulators.ts'
import { profilesIn } from './cpu-profile.ts'
import { newRecordId, webhooksTo } from './end-to-end-block.ts'
import { warmUp } from './ingest-block.ts'
import { startAgentProcess, startCloud, startOnPrem, writeCloudConfig, type Runtime } from './stack.ts'
import { sleep } from './stats.ts'

const [path = 'ingest', runtime = 'embedded', seconds = '6'] = process.argv.slice(2) as [string?, Runtime?, string?]
if (!['ingest', 'e2e'].includes(path) || !['embedded', 'aws'].includes(runtime)) {
  console.error('usage: node test/bench/profile.ts [ingest|e2e] [embedded|aws] [seconds]')
  process.exit(2)
}
const SENDERS = 16
const AGENT_CONCURRENCY = 8
const BACKLOG = 64

const dir = mkdtempSync(join(tmpdir(), 'hookferry-profile-'))
const profiles = join(dir, 'profiles')
const config = writeCloudConfig(dir)
const onPrem = await startOnPrem()
let emulators: AwsEmulators | undefined
if (runtime === 'aws') {
  emulators = await startAwsEmulators()
  const cloud = await startCloud('aws', config, dir, await emulators.freshResources())
  await warmUp(cloud.url, config.verify, 10_000).finally(() => cloud.stop())
}
// Children inherit NODE_OPTIONS: only the processes started while it is set are profiled.
process.env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${profiles}`
const cloud = await startCloud(runtime, config, dir, await emulators?.freshResources())
const agent = path === 'e2e' ? await startAgentProcess({ cloud, config, onPrem, concurrency: AGENT_CONCURRENCY, dir }) : undefined
delete process.env.NODE_OPTIONS

const webhooks = webhooksTo(cloud, { runtime, newCloud: async () => cloud, config, onPrem, floorUrl: '', bareNodeRssMb: 0, dir }, SENDERS)
const endAt = performance.now() + Number(seconds) * 1000
let sent = 0
await Promise.all(
  Array.from({ length: SENDERS }, async () => {
    while (performance.now() < endAt) {
      if (agent && sent - onPrem.deliveredAt.length >= BACKLOG) {
        await sleep(2)
        continue
      }
      sent += 1
      await webhooks.send(newRecordId('profile'))
    }
  }),
)
await sleep(1_000)
await agent?.stop()
await Promise.all([webhooks.close(), cloud.stop()])
await Promise.all([onPrem.close(), emulators?.stop()])

console.log(`${path} on ${runtime}: ${sent} webhooks sent, ${onPrem.deliveredAt.length} records delivered; profiles in ${profiles}`)
for (const profile of profilesIn(profiles)) {
  const role = profile.pid === String(agent?.pid) ? 'agent' : 'cloud'
  console.log(`\n${role} (pid ${profile.pid}): busy ${Math.round(profile.busyMs)} ms (${(profile.busyMs / sent).toFixed(2)} ms per webhook), idle ${Math.round(profile.idleMs)} ms`)
  console.log('  self time by package / file:')
  for (const [name, share] of profile.modules.slice(0, 8)) console.log(`    ${(share * 100).toFixed(1).padStart(5)}%  ${name}`)
  console.log('  self time by function:')
  for (const [name, share] of profile.functions) console.log(`    ${(share * 100).toFixed(1).padStart(5)}%  ${name}`)
}

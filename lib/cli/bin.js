#!/usr/bin/env node
// The hookferry command. From a checkout it runs the TypeScript sources (Node >= 22.18 strips
// types natively); installed from a package (under node_modules, where Node refuses to strip
// types) it runs the compiled build in dist/. Plain JavaScript that any Node can parse, so an
// older Node gets a clear answer instead of a syntax error.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const REQUIRED = '22.18'
const [major, minor] = process.versions.node.split('.').map(Number)
const tooOld = major < 22 || (major === 22 && minor < 18)
const here = fileURLToPath(import.meta.url)
const installed = here.includes(`${sep}node_modules${sep}`)

if (tooOld) {
  // A checkout pins Node 22 as a dev dependency (npm scripts and npx run on it): use it.
  const pinned = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url))
  if (!installed && existsSync(pinned) && process.env.HOOKFERRY_REEXEC !== pinned) {
    // In its own process group, so a Ctrl-C reaches it once (passed on from here), not twice:
    // a second signal means "stop now" to hookferry's long-running commands.
    const child = spawn(pinned, [...process.execArgv, here, ...process.argv.slice(2)], { stdio: 'inherit', detached: true, env: { ...process.env, HOOKFERRY_REEXEC: pinned } })
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
    child.on('error', (error) => {
      console.error(`hookferry: cannot start the project's Node 22 (${pinned}): ${error.message}`)
      process.exit(2)
    })
    child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)))
  } else {
    const fix = installed
      ? 'install Node.js 22 (https://nodejs.org, or "nvm install 22") and run hookferry with it'
      : 'run "npm install" in the checkout: it installs the Node 22 that the hookferry command then uses'
    console.error(`hookferry needs Node.js ${REQUIRED} or newer, you have ${process.versions.node}: ${fix}`)
    process.exit(2)
  }
} else {
  const { main } = await import(installed ? '../../dist/lib/cli/main.js' : './main.ts')
  await main(process.argv)
}

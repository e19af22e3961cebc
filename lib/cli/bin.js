#!/usr/bin/env node
// The hookferry command. From a checkout it runs the TypeScript sources (Node >= 22.18 strips
// types natively); installed from a package (under node_modules, where Node refuses to strip
// types) it runs the compiled build in dist/.
import { sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`hookferry needs Node.js 22.18 or newer (this is ${process.versions.node}). From a checkout, run it through npm ("npm start", "npx hookferry") so the project's pinned Node 22 is used.`)
  process.exit(1)
}

const installed = fileURLToPath(import.meta.url).includes(`${sep}node_modules${sep}`)
const { main } = await import(installed ? '../../dist/lib/cli/main.js' : './main.ts')
await main(process.argv)

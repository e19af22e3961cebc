// `hookferry` as the npm package runs it: installed, lib/cli/bin.js imports the compiled build
// (dist/, made by `npm run build`) and calls its main. The bench starts the agent through this
// file so that its RSS is the users' one, without the type stripping of a checkout. Plain
// JavaScript: a .ts entry would load Node's type stripper into the process being measured.
const { main } = await import('../../dist/lib/cli/main.js')
await main(process.argv)

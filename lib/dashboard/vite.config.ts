import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * `npm run build:dashboard`: lib/dashboard/ui → dist/dashboard, served at /ui/ by `hookferry serve`
 * and by the AWS API (functions/dashboard.ts). Hashed file names: the server caches them for good.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./ui', import.meta.url)),
  base: '/ui/',
  logLevel: 'warn',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('../../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No inlined data: URLs for scripts (the page's CSP allows scripts from 'self' only).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
})

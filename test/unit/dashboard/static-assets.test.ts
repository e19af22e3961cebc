import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { lazyAssets, loadAssets, serveAsset } from '../../../lib/dashboard/static-assets.ts'
import { compileRoute } from '../../../lib/server/api-gateway-event.ts'

let dirs: string[] = []
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  dirs = []
})

/** A build folder like Vite's: index.html and hashed assets. */
function build(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hookferry-ui-'))
  dirs.push(dir)
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/ui/assets/index-abc.js"></script>')
  writeFileSync(join(dir, 'assets', 'index-abc.js'), `console.log(${JSON.stringify('x'.repeat(2000))})`)
  writeFileSync(join(dir, '.hidden'), 'secret')
  return dir
}
const body = (result: ReturnType<typeof serveAsset>) => Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8')

describe('dashboard static files', () => {
  it('serves the page at /ui, /ui/ and /ui/index.html, revalidated on every load', () => {
    const assets = loadAssets(build())
    for (const path of ['/ui', '/ui/', '/ui/index.html']) {
      const result = serveAsset(assets, { path })
      expect(result.statusCode, path).toBe(200)
      expect(result.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' })
      expect(String(result.headers?.['content-security-policy'])).toContain("script-src 'self'")
      expect(body(result).toString()).toContain('/ui/assets/index-abc.js')
    }
  })

  it('caches hashed bundles for good, gzips them when asked, and answers 304 to a matching ETag', () => {
    const assets = loadAssets(build())
    const plain = serveAsset(assets, { path: '/ui/assets/index-abc.js' })
    expect(plain.headers).toMatchObject({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable', vary: 'accept-encoding' })
    expect(plain.headers).not.toHaveProperty('content-encoding')
    const gzipped = serveAsset(assets, { path: '/ui/assets/index-abc.js', acceptEncoding: 'br, gzip' })
    expect(gzipped.headers).toMatchObject({ 'content-encoding': 'gzip' })
    expect(gunzipSync(body(gzipped)).equals(body(plain))).toBe(true)
    expect(body(gzipped).length).toBeLessThan(body(plain).length)
    const again = serveAsset(assets, { path: '/ui/assets/index-abc.js', ifNoneMatch: String(plain.headers?.etag) })
    expect(again.statusCode).toBe(304)
    expect(again.body).toBeUndefined()
  })

  it('answers 404 JSON for unknown, hidden or escaping paths', () => {
    const assets = loadAssets(build())
    for (const path of ['/ui/nope.js', '/ui/.hidden', '/ui/../package.json', '/ui/assets/../index.html']) {
      const result = serveAsset(assets, { path })
      expect(result.statusCode, path).toBe(404)
      expect(JSON.parse(result.body ?? '')).toMatchObject({ error: { code: 'route.not_found' } })
    }
  })

  it('answers 503 with what to run while the dashboard is not built, and serves it once it is', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hookferry-ui-')), 'dashboard')
    dirs.push(dir)
    const assets = lazyAssets(() => dir)
    const missing = serveAsset(assets(), { path: '/ui/' })
    expect(missing.statusCode).toBe(503)
    expect(JSON.parse(missing.body ?? '')).toEqual({ error: { code: 'dashboard.not_built', message: expect.stringContaining('npm run build:dashboard') } })
    mkdirSync(dir)
    writeFileSync(join(dir, 'index.html'), '<!doctype html>')
    expect(serveAsset(assets(), { path: '/ui/' }).statusCode).toBe(200)
  })

  it('routes /ui/{proxy+} like API Gateway: the rest of the path, slashes included', () => {
    const route = compileRoute('GET /ui/{proxy+}')
    expect(route.match('/ui/assets/index-abc.js')).toEqual({ proxy: 'assets/index-abc.js' })
    expect(route.match('/ui/')).toEqual({ proxy: '' })
    expect(route.match('/uix/a')).toBeUndefined()
    expect(compileRoute('GET /admin/v1/requests/{id}').match('/admin/v1/requests/a/b')).toBeUndefined()
  })
})

import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { HookferryError } from '../errors.ts'
import { errorResponse } from '../http/error-response.ts'
import { silentLog } from '../relay/deps.ts'

/** Where the dashboard is served: `hookferry serve` and the AWS API alike. */
export const DASHBOARD_PATH = '/ui'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
}

/**
 * Same origin as the admin API, so the page may talk to it and to nothing else; no inline script
 * or style, no framing (clickjacking an admin page), no referrer.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

interface Asset {
  body: Buffer
  gzip?: Buffer
  contentType: string
  etag: string
  /** Vite names these by content hash: cache them for good. */
  immutable: boolean
}

/** The build's folder: HOOKFERRY_DASHBOARD_DIR (the Lambda bundle sets it), else dist/dashboard of this package. */
export function dashboardDir(): string {
  if (process.env.HOOKFERRY_DASHBOARD_DIR) return process.env.HOOKFERRY_DASHBOARD_DIR
  // From a checkout this file is lib/dashboard/*.ts; installed, it is dist/lib/dashboard/*.js.
  const fromSource = extname(fileURLToPath(import.meta.url)) === '.ts'
  return fileURLToPath(new URL(fromSource ? '../../dist/dashboard' : '../../dashboard', import.meta.url))
}

/** Reads every file of the build once, gzipped where that pays. */
export function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    const body = readFileSync(path)
    const contentType = CONTENT_TYPES[extname(entry.name)] ?? 'application/octet-stream'
    const compressible = /^text\/|json|svg/.test(contentType) && body.length > 512
    const name = relative(dir, path).split(sep).join('/')
    assets.set(name, {
      body,
      ...(compressible ? { gzip: gzipSync(body, { level: 9 }) } : {}),
      contentType,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable: name.startsWith('assets/'),
    })
  }
  return assets
}

export interface AssetRequest {
  path: string
  acceptEncoding?: string
  ifNoneMatch?: string
}

/**
 * Answers GET /ui, /ui/ and /ui/<file>. The page (index.html) is revalidated on every load (it
 * names the current hashed bundles), the hashed bundles are cached for a year.
 */
export function serveAsset(assets: ReadonlyMap<string, Asset> | undefined, request: AssetRequest): APIGatewayProxyStructuredResultV2 {
  if (!assets) {
    return errorResponse(new HookferryError('dashboard.not_built', 'the dashboard is not built: run "npm run build:dashboard" in the hookferry checkout (npm install does it too)', { statusCode: 503 }), silentLog)
  }
  const rest = request.path === DASHBOARD_PATH ? '' : request.path.slice(DASHBOARD_PATH.length + 1)
  const name = rest === '' ? 'index.html' : rest
  const asset = assets.get(name)
  if (!asset || name.split('/').some((part) => part === '..' || part.startsWith('.'))) {
    return errorResponse(new HookferryError('route.not_found', `no dashboard file ${request.path}`, { statusCode: 404 }), silentLog)
  }
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    'content-type': asset.contentType,
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag: asset.etag,
    vary: 'accept-encoding',
  }
  if (request.ifNoneMatch === asset.etag) return { statusCode: 304, headers }
  const gzip = asset.gzip && /\bgzip\b/.test(request.acceptEncoding ?? '')
  if (gzip) headers['content-encoding'] = 'gzip'
  return { statusCode: 200, headers, body: (gzip ? asset.gzip! : asset.body).toString('base64'), isBase64Encoded: true }
}

/** The build, loaded on first use; undefined while dist/dashboard does not exist. */
export function lazyAssets(dir: () => string = dashboardDir): () => Map<string, Asset> | undefined {
  let loaded: Map<string, Asset> | undefined
  return () => {
    if (!loaded && existsSync(join(dir(), 'index.html'))) loaded = loadAssets(dir())
    return loaded
  }
}

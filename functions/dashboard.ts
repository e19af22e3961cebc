import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { headersOf } from '../lib/http/lambda-io.ts'
import { lazyAssets, serveAsset } from '../lib/dashboard/static-assets.ts'

const assets = lazyAssets()

/**
 * GET /ui and /ui/{proxy+} — the dashboard's static files. It needs no runtime (no ledger, no
 * config): the page talks to the admin API, which checks the admin token on every call.
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const headers = headersOf(event)
  return serveAsset(assets(), {
    path: event.rawPath,
    ...(headers['accept-encoding'] === undefined ? {} : { acceptEncoding: headers['accept-encoding'] }),
    ...(headers['if-none-match'] === undefined ? {} : { ifNoneMatch: headers['if-none-match'] }),
  })
}

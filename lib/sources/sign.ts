import type { VerifyConfig } from '../config/server-config.ts'
import { signGithubWebhook } from './verify/github.ts'
import { signHmacWebhook } from './verify/hmac.ts'
import { signShopifyWebhook } from './verify/shopify.ts'
import { signSlackWebhook } from './verify/slack.ts'
import { signStandardWebhook } from './verify/standard-webhooks.ts'
import { signStripeWebhook } from './verify/stripe.ts'
import { signTokenWebhook } from './verify/token.ts'
import type { SignOptions } from './verify/types.ts'

/**
 * The headers (lower-case) a real provider would send with `rawBody`, signed with the first
 * secret: for tests, `hookferry send` and the demo. The caller adds its own content-type.
 */
export function signWebhook(config: VerifyConfig, rawBody: Buffer, opts: SignOptions): Record<string, string> {
  switch (config.scheme) {
    case 'github':
      return signGithubWebhook(config, rawBody, opts)
    case 'stripe':
      return signStripeWebhook(config, rawBody, opts)
    case 'shopify':
      return signShopifyWebhook(config, rawBody, opts)
    case 'slack':
      return signSlackWebhook(config, rawBody, opts)
    case 'standard-webhooks':
      return signStandardWebhook(config, rawBody, opts)
    case 'hmac':
      return signHmacWebhook(config, rawBody, opts)
    case 'token':
      return signTokenWebhook(config)
    case 'none':
      return {}
  }
}

import type { VerifyConfig } from '../../config/server-config.ts'
import { verifyGithubSignature } from './github.ts'
import { verifyHmacSignature } from './hmac.ts'
import { verifyShopifySignature } from './shopify.ts'
import { verifySlackSignature } from './slack.ts'
import { verifyStandardWebhookSignature } from './standard-webhooks.ts'
import { verifyStripeSignature } from './stripe.ts'
import { verifyToken } from './token.ts'
import type { VerifyInput } from './types.ts'

/**
 * Verifies a webhook against its source's scheme, over the raw body bytes. Returns when it is
 * authentic; throws a SourceError (401) otherwise, or a ConfigError when the config cannot work.
 */
export function verifySignature(config: VerifyConfig, input: VerifyInput): void {
  switch (config.scheme) {
    case 'github':
      return verifyGithubSignature(config, input)
    case 'stripe':
      return verifyStripeSignature(config, input)
    case 'shopify':
      return verifyShopifySignature(config, input)
    case 'slack':
      return verifySlackSignature(config, input)
    case 'standard-webhooks':
      return verifyStandardWebhookSignature(config, input)
    case 'hmac':
      return verifyHmacSignature(config, input)
    case 'token':
      return verifyToken(config, input)
    case 'none':
      return
  }
}

import { StorageUnavailableError } from '../../errors.ts'

/**
 * Which AWS SDK errors mean "the store cannot take this now, try again later". They become
 * StorageUnavailableError (a 503 with Retry-After, so a webhook provider retries); anything else
 * is a programming or input error and is rethrown untouched.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 */
const UNAVAILABLE_ERROR_NAMES = new Set([
  // throttling
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'KmsThrottled',
  'TransactionInProgressException',
  // transient service or transport failures
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  // deployment or credentials not (yet) right: the caller must retry later, not drop work
  'ResourceNotFoundException',
  'QueueDoesNotExist',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'CredentialsProviderError',
])

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

interface SdkErrorShape {
  name?: string
  code?: string
  $fault?: 'client' | 'server'
  $metadata?: { httpStatusCode?: number }
}

/** The error's SDK name (e.g. `ConditionalCheckFailedException`), or undefined. */
export function awsErrorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape).name : undefined
}

/** True for throttling, network, 5xx and not-reachable errors of the AWS SDK. */
export function isAwsUnavailableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const { name, code, $fault, $metadata } = error as SdkErrorShape
  return (
    (name !== undefined && UNAVAILABLE_ERROR_NAMES.has(name)) ||
    (code !== undefined && NETWORK_ERROR_CODES.has(code)) ||
    $fault === 'server' ||
    ($metadata?.httpStatusCode ?? 0) >= 500
  )
}

/** Translates an SDK error at the adapter: unavailability → StorageUnavailableError, the rest unchanged. */
export function translateAwsError(error: unknown, action: string): unknown {
  if (isAwsUnavailableError(error)) {
    return new StorageUnavailableError(`${action} failed: the store could not be reached`, { cause: error })
  }
  return error
}

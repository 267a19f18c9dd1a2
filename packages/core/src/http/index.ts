// The HTTP layer every network component uses: one retry policy, one retryable rule, redirects
// that keep credentials on their origin, URLs redacted for messages, typed HTTP errors.
export { TRANSIENT_NETWORK_CODES, RETRYABLE_STATUSES, isRetryableStatus, isTransientNetworkError, isRetryable } from './retryable.js'
export {
  DEFAULT_RETRY_POLICY,
  parseRetryAfter,
  retryDelayMs,
  sleep,
  withRetries,
  spent,
  type RetryPolicy,
  type RetryOptions,
} from './retry-policy.js'
export { redactUrl } from './redact-url.js'
export { httpRefusal, httpUnreachable, responseFacts, type RefusalOptions, type UnreachableOptions } from './http-errors.js'
export { fetchFollowing, isReplayableBody, type FollowOptions, type Followed } from './follow-redirects.js'
export { retryingFetch, type RetryingFetchOptions } from './retrying-fetch.js'

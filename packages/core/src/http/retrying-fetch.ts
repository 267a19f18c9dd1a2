// A fetch that retries by the project's policy, for libraries that take a `fetch` and do not
// retry themselves (the Hub client's listings). Only requests whose body can be sent again are
// retried; the answer handed back is the last one, whatever its status.
import { isReplayableBody } from './follow-redirects.js'
import { isRetryableStatus, isTransientNetworkError } from './retryable.js'
import { DEFAULT_RETRY_POLICY, parseRetryAfter, retryDelayMs, sleep, type RetryPolicy } from './retry-policy.js'

export interface RetryingFetchOptions {
  policy?: RetryPolicy
  signal?: AbortSignal
  onRetry?: (what: string, retry: number, reason: string, delayMs: number) => void
}

export function retryingFetch(fetchFn: typeof globalThis.fetch, opts: RetryingFetchOptions = {}): typeof globalThis.fetch {
  const policy = opts.policy ?? DEFAULT_RETRY_POLICY
  return async (input, init) => {
    const replayable = isReplayableBody(init?.body) && !(input instanceof Request && input.body)
    const what = `${init?.method ?? 'GET'} ${input instanceof Request ? input.url : String(input)}`
    for (let n = 1; ; n++) {
      const last = !replayable || n >= policy.attempts
      let res: Response
      try {
        res = await fetchFn(input, init)
      } catch (err) {
        if (last || !isTransientNetworkError(err) || opts.signal?.aborted || init?.signal?.aborted) throw err
        const delay = retryDelayMs(n, undefined, policy)
        opts.onRetry?.(what, n, (err as Error).message, delay)
        await sleep(delay, opts.signal)
        continue
      }
      if (last || !isRetryableStatus(res.status)) return res
      await res.body?.cancel().catch(() => {})
      const asked = parseRetryAfter(res.headers.get('retry-after'))
      const delay = asked === undefined ? retryDelayMs(n, undefined, policy) : Math.min(asked, policy.maxRetryAfterMs)
      opts.onRetry?.(what, n, `${res.status} ${res.statusText}`, delay)
      await sleep(delay, opts.signal)
    }
  }
}

// One retry policy for the whole project: how many tries, how long between them (what the server
// asked for with Retry-After, else exponential), and who retries. The layer closest to the whole
// operation retries; what it finally throws is marked not retryable, so a caller further out does
// not retry it again: retries never multiply.
import { errors } from '../errors/core-errors.js'
import { isModelcarError, ModelcarError, optionsOf } from '../errors/modelcar-error.js'
import { isRetryable } from './retryable.js'

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number
  /** The wait before the first retry; each next one doubles. */
  firstDelayMs: number
  /** The longest wait of the exponential series. */
  maxDelayMs: number
  /** A server's Retry-After is honoured up to this long. */
  maxRetryAfterMs: number
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  attempts: 5,
  firstDelayMs: 250,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
})

/** Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  const v = header?.trim()
  if (!v) return undefined
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** The wait before retry number `retry` (1 for the first): what the failure asked for (`retryAfterMs`), else exponential. */
export function retryDelayMs(retry: number, err?: unknown, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  const asked = isModelcarError(err) ? err.retryAfterMs : undefined
  if (asked !== undefined) return Math.min(Math.max(0, asked), policy.maxRetryAfterMs)
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (retry - 1))
}

/** Waits `ms`, or rejects with an ABORTED error when the signal aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(errors.aborted(signal.reason))
    const onAbort = () => {
      clearTimeout(t)
      reject(errors.aborted(signal!.reason))
    }
    // The listener goes when the wait ends: a run with many retries must not pile them up on
    // the run's one signal (Node warns past 10).
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

export interface RetryOptions {
  policy?: RetryPolicy
  signal?: AbortSignal
  /** Whether another attempt may cure `err`. Default: isRetryable. */
  retryable?: (err: unknown) => boolean
  /** Told before each wait: the retry's number (1 for the first), the failure, the wait. */
  onRetry?: (retry: number, err: unknown, delayMs: number) => void
}

/**
 * Runs `attempt` until it succeeds, fails in a way no retry cures, or the policy's tries are spent.
 * What is finally thrown is marked not retryable (see `spent`).
 */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY_POLICY
  const retryable = opts.retryable ?? isRetryable
  for (let n = 1; ; n++) {
    try {
      return await attempt(n)
    } catch (err) {
      if (opts.signal?.aborted) throw errors.aborted(opts.signal.reason)
      if (!retryable(err)) throw err
      if (n >= policy.attempts) throw spent(err, n)
      const delay = retryDelayMs(n, err, policy)
      opts.onRetry?.(n, err, delay)
      await sleep(delay, opts.signal)
    }
  }
}

/** A retryable failure after the last try: the same error, not retryable any more, saying how many tries were made. */
export function spent(err: unknown, tries: number): ModelcarError {
  const message = `${err instanceof Error ? err.message : String(err)} (gave up after ${tries} tries)`
  if (isModelcarError(err)) return new ModelcarError(err.code, message, { ...optionsOf(err), retryable: false, cause: err })
  return new ModelcarError('COMPONENT_FAILED', message, { cause: err })
}

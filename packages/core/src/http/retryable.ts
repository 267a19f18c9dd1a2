// Which failures another attempt may cure: one list of network errors and one of statuses, for
// every HTTP client of the project (Hub, S3, registries, plugins).
import { isModelcarError } from '../errors/modelcar-error.js'

/** Error codes of a connection that broke, or could not be made for a passing reason. */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
])

/** Statuses of a server that is busy, restarting or rate limiting: worth asking again. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status)
}

/** A raw error (not a ModelcarError) of a connection that broke: undici's, Node's, a stream's. */
export function isTransientNetworkError(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown }; message?: unknown } | undefined
  if (!e || typeof e !== 'object') return false
  if (typeof e.code === 'string' && TRANSIENT_NETWORK_CODES.has(e.code)) return true
  if (typeof e.cause?.code === 'string' && TRANSIENT_NETWORK_CODES.has(e.cause.code)) return true
  // undici reports a body cut mid-stream as TypeError('terminated'), a socket closed under a
  // request as 'other side closed'.
  return e.message === 'terminated' || e.message === 'other side closed'
}

/** Whether another attempt may cure `err`: a ModelcarError says so itself; a raw error is judged by its network code. */
export function isRetryable(err: unknown): boolean {
  if (isModelcarError(err)) return err.retryable
  return isTransientNetworkError(err)
}

// How long to wait before asking a server again: its Retry-After when it sent one, else an
// exponential backoff. Shared by every HTTP client of the project (Hub downloads, registry pushes).
import { errors } from '../errors.js'

/** Seconds from a Retry-After header (delta or HTTP date), else 2^attempt capped at 30. */
export function retryAfterSeconds(header: string | null, attempt: number): number {
  if (header) {
    if (/^\d+$/.test(header.trim())) return Number(header.trim())
    const at = Date.parse(header)
    if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - Date.now()) / 1000))
  }
  return Math.min(30, 2 ** attempt)
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

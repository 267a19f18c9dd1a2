// Reads a ModelFile for the encoder: exactly `size` bytes, the announced digest verified while
// streaming, and a cut read resumed at the byte it stopped (bounded retries with backoff).
import { createHash, type Hash } from 'node:crypto'
import type { ModelFile } from '../components/model-file.js'
import { errors, isModelcarError } from '../errors.js'
import { coalesce } from './coalesce.js'
import { sleep } from '../http/retry-after.js'
import { threadedSha256, type ThreadedSha256 } from './hash-thread.js'

export interface ReadOptions {
  signal?: AbortSignal
  onBytes?: (n: number) => void
  onRetry?: (attempt: number, reason: string) => void
  retries?: number
  /** Milliseconds before retry n is 2^(n-1) times this (capped at 30 s). */
  backoffMs?: number
  /**
   * The source's `type`: when given, what fails comes out as a ModelcarError naming it and the
   * phase, `open` (the source's `open()` threw) or `read` (the bytes, their size or digest).
   */
  component?: string
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
])

export function isRetryable(err: unknown): boolean {
  if (isModelcarError(err)) return err.retryable
  const e = err as { code?: string; cause?: { code?: string }; message?: string } | undefined
  if (!e) return false
  if (e.code && RETRYABLE_CODES.has(e.code)) return true
  if (e.cause?.code && RETRYABLE_CODES.has(e.cause.code)) return true
  // undici reports a body cut mid-stream as TypeError('terminated')
  return e.message === 'terminated'
}

export async function* readModelFile(file: ModelFile, opts: ReadOptions = {}): AsyncGenerator<Uint8Array> {
  const verify = file.digest?.startsWith('sha256:')
  // Large files are hashed on another thread: the layer around them is hashed on this one.
  const hash = !verify ? undefined : file.size >= THREAD_HASH_MIN_BYTES ? threadedSha256() : inline(createHash('sha256'))
  const retries = opts.retries ?? 5
  let offset = 0
  let attempt = 0
  // Inside the source's `open()`: a failure there is named `open`, not `read`.
  let opening = false
  try {
    for (;;) {
      try {
        opening = true
        const stream = await file.open({ start: offset, signal: opts.signal })
        opening = false
        // HTTP bodies come in 16–64 KiB pieces; every step after this one costs per chunk, so
        // hand them on in blocks of about 1 MiB.
        for await (const chunk of coalesce(stream as AsyncIterable<Uint8Array>)) {
          if (offset + chunk.byteLength > file.size) throw errors.sizeMismatch(file.path, file.size, offset + chunk.byteLength, true)
          await hash?.update(chunk)
          offset += chunk.byteLength
          opts.onBytes?.(chunk.byteLength)
          yield chunk
        }
        break
      } catch (err) {
        if (opts.signal?.aborted || !isRetryable(err) || attempt >= retries) throw err
        opening = false
        attempt++
        opts.onRetry?.(attempt, (err as Error).message ?? String(err))
        await sleep(Math.min(30_000, (opts.backoffMs ?? 250) * 2 ** (attempt - 1)), opts.signal)
      }
    }
    if (offset !== file.size) throw errors.sizeMismatch(file.path, file.size, offset, false)
    if (hash) {
      const actual = await hash.digest()
      if (actual !== file.digest) throw errors.digestMismatch(file.path, file.digest!, actual)
    }
  } catch (err) {
    if (opts.component === undefined) throw err
    throw errors.componentFailed(opts.component, opening ? 'open' : 'read', err)
  } finally {
    hash?.close()
  }
}

const THREAD_HASH_MIN_BYTES = 16 << 20

function inline(h: Hash): ThreadedSha256 {
  return {
    update: async (chunk) => void h.update(chunk),
    digest: async () => `sha256:${h.digest('hex')}`,
    close: () => {},
  }
}

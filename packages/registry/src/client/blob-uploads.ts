// A blob upload in the shape the registry takes (protocols.md §3.6), as a BlobWriter the engine
// streams into: one streamed PATCH then `PUT ?digest=`; ranged PATCH chunks (resumed where the
// registry stands after a 416 or a cut); or one PUT whose body is the stream, which needs the
// digest first (a DigestProbe learns it on a first pass). An upload that needs the bytes again
// says so at commit with `{ streamAgain }`, as the contract asks.
import { isModelcarError, isRetryable, redactUrl, type BlobWriter, type StreamAgain } from '@modelcar/core'
import { BodyBridge } from './body-bridge.js'
import { nextLocation, type RegistryClient } from './registry-client.js'
import { registryErrors } from './registry-errors.js'
import type { UploadStrategy } from './upload-strategy.js'

/** A writer for one blob in the given upload shape. */
export async function openUpload(
  client: RegistryClient,
  strategy: UploadStrategy,
  known: { digest?: string | undefined; size?: number | undefined },
): Promise<BlobWriter> {
  if (strategy.mode === 'monolithic') {
    if (!known.digest || known.size === undefined) return new DigestProbe()
    return new MonolithicUpload(client, await client.startUpload(), known.digest, known.size)
  }
  const location = await client.startUpload()
  return strategy.mode === 'chunked' ? new ChunkedUpload(client, location, strategy.chunkBytes) : new StreamedUpload(client, location)
}

function isStreamAgain(value: unknown): value is StreamAgain {
  return typeof value === 'object' && value !== null && typeof (value as { streamAgain?: unknown }).streamAgain === 'string'
}

/**
 * A request whose body is the stream of writes, and its answer. When the registry asks for
 * credentials again mid-stream (a token that lapsed early: the auth module hands a streamed
 * body's 401 back), the writes are taken without being sent and the blob is streamed again.
 */
class StreamedRequest<T> {
  private readonly bridge = new BodyBridge()
  private readonly answer: Promise<T | undefined>
  private closing = false
  private failure: { err: unknown } | undefined
  private again: string | undefined

  /** `endsTheBody`: the answer can only come once the body ended (no Content-Length), so an earlier one means the registry stopped reading. */
  constructor(send: (body: ReadableStream<Uint8Array>) => Promise<T>, what: string, endsTheBody: boolean) {
    this.answer = send(this.bridge.stream).then(
      (value) => {
        if (endsTheBody && !this.closing) {
          const status = value instanceof Response ? ` ${value.status}` : ''
          this.fail(registryErrors.registryRefused(`${what}: the registry answered${status} before the upload ended`, { retryable: true }))
        }
        return value
      },
      (err: unknown) => {
        if (isModelcarError(err) && err.http?.status === 401) this.again = 'the registry asked for credentials again mid-upload'
        this.fail(err)
        return undefined
      },
    )
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.again) return
    try {
      await this.bridge.push(chunk)
    } catch (err) {
      // The body failed because the request did (a refusal, a cut connection): report that, not "cancelled".
      await this.answer
      if (this.again) return
      throw this.failure ? this.failure.err : err
    }
  }

  /** Ends the body: the answer, or why the blob must be streamed again. */
  async finish(): Promise<T | StreamAgain> {
    this.closing = true
    this.bridge.close()
    const value = await this.answer
    if (this.again) return { streamAgain: this.again }
    if (this.failure) throw this.failure.err
    return value as T
  }

  async abort(): Promise<void> {
    this.bridge.fail(new Error('upload aborted'))
    await this.answer
  }

  private fail(err: unknown): void {
    this.failure ??= { err }
    this.bridge.fail(err)
  }
}

/** One PATCH whose body is the stream of writes, then PUT ?digest=. No buffer, no digest up front. */
class StreamedUpload implements BlobWriter {
  private readonly request: StreamedRequest<Response>
  private written = 0

  constructor(
    private readonly client: RegistryClient,
    private location: string,
  ) {
    const headers = { 'content-type': 'application/octet-stream' }
    this.request = new StreamedRequest(
      (body) => client.send('PATCH', location, { ok: [202, 204], headers, body }),
      `[PATCH] ${redactUrl(location)}`,
      true,
    )
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.request.write(chunk)
    this.written += chunk.byteLength
  }

  async commit(expected: { digest: string; size: number }): Promise<void | StreamAgain> {
    if (this.written !== expected.size)
      throw registryErrors.registryRefused(`upload of \`${expected.digest}\`: wrote ${this.written} bytes, expected ${expected.size}`)
    const res = await this.request.finish()
    if (isStreamAgain(res)) return restream(this.client, this.location, res)
    await res.body?.cancel()
    this.location = nextLocation(res, this.location)
    await this.client.finishUpload(this.location, expected.digest)
  }

  async abort(): Promise<void> {
    await this.request.abort()
    await this.client.cancelUpload(this.location)
  }
}

/** One PUT ?digest= whose body is the stream of writes, with its Content-Length: for registries that take no PATCH. */
class MonolithicUpload implements BlobWriter {
  private readonly request: StreamedRequest<void>

  constructor(
    private readonly client: RegistryClient,
    private readonly location: string,
    digest: string,
    size: number,
  ) {
    // With a Content-Length the registry may answer as soon as the last byte arrives: no early-answer check.
    this.request = new StreamedRequest((body) => client.finishUpload(location, digest, body, size), `[PUT] ${redactUrl(location)}`, false)
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.request.write(chunk)
  }

  async commit(): Promise<void | StreamAgain> {
    const done = await this.request.finish()
    if (isStreamAgain(done)) return restream(this.client, this.location, done)
  }

  async abort(): Promise<void> {
    await this.request.abort()
    await this.client.cancelUpload(this.location)
  }
}

/** The registry wants the blob again after new credentials: the session is dropped, credentials made ready. */
async function restream(client: RegistryClient, location: string, again: StreamAgain): Promise<StreamAgain> {
  await client.cancelUpload(location)
  await client.prepare()
  return again
}

/** Failed PATCHes of a blob in a row, the registry taking no more bytes, before the upload gives up. */
export const MAX_RESUMES = 5

/**
 * PATCHes of `chunkBytes` with Content-Range, then PUT ?digest=. A PATCH that fails with a 416 or
 * a cut (or 429/5xx) is not sent again blind: the registry is asked where it stands (`GET
 * <location>`, as the distribution spec says) and the rest of the held chunk goes from there.
 */
class ChunkedUpload implements BlobWriter {
  private buffer: Buffer
  private held = 0
  /** Bytes before the held chunk: the registry has them, we no longer do. */
  private offset = 0
  /** Resumes since the registry last took bytes. */
  private stalls = 0
  /** Set when the registry lost bytes we no longer hold: writes are dropped, commit asks for the blob again. */
  private again: string | undefined

  constructor(
    private readonly client: RegistryClient,
    private location: string,
    private readonly chunkBytes: number,
  ) {
    this.buffer = Buffer.allocUnsafe(chunkBytes)
  }

  async write(chunk: Uint8Array): Promise<void> {
    let at = 0
    while (at < chunk.byteLength && !this.again) {
      const n = Math.min(this.chunkBytes - this.held, chunk.byteLength - at)
      this.buffer.set(chunk.subarray(at, at + n), this.held)
      this.held += n
      at += n
      if (this.held === this.chunkBytes) await this.flush()
    }
  }

  /** Sends the held chunk, resuming where the registry stands after a failed PATCH. */
  private async flush(): Promise<void> {
    let from = 0
    while (from < this.held) {
      try {
        await this.patch(from)
        from = this.held
        this.stalls = 0
      } catch (err) {
        const at = await this.resume(err, from)
        if (at === undefined) return
        from = at
      }
    }
    this.offset += this.held
    this.held = 0
    // fetch may still hold the old bytes; a fresh buffer keeps them intact.
    this.buffer = Buffer.allocUnsafe(this.chunkBytes)
  }

  /** PATCH bytes `from`… of the held chunk. */
  private async patch(from: number): Promise<void> {
    const res = await this.client.send('PATCH', this.location, {
      ok: [202, 204],
      // Not retried by the client: a PATCH the registry took part of must not go again as is.
      once: true,
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${this.offset + from}-${this.offset + this.held - 1}`,
        'content-length': String(this.held - from),
      },
      body: this.buffer.subarray(from, this.held),
    })
    await res.body?.cancel()
    this.location = nextLocation(res, this.location)
  }

  /**
   * After a failed PATCH of bytes `from`… of the held chunk: where in the chunk to go on, from
   * what the registry holds; undefined when it lost bytes before the chunk (the blob is asked for
   * again). Throws what no resume cures, and the last failure once MAX_RESUMES brought nothing.
   */
  private async resume(err: unknown, from: number): Promise<number | undefined> {
    const rangeRefused = isModelcarError(err) && err.http?.status === 416
    // A 400 or a 403 stays a failure; a 416, a cut, a 429 or a 5xx may leave the registry anywhere.
    if (!rangeRefused && !isRetryable(err)) throw err
    if (++this.stalls > MAX_RESUMES) throw registryErrors.resumesSpent(err, MAX_RESUMES)
    // A cut or a busy registry gets the policy's wait (Retry-After honoured); a 416 needs none.
    await this.client.retryWait(`PATCH ${redactUrl(this.location)}`, this.stalls, err, rangeRefused ? 0 : undefined)
    const status = await this.client.uploadStatus(this.location)
    if (!status) return this.lose('the registry dropped the upload session after a failed PATCH')
    this.location = status.location
    const at = status.size - this.offset
    if (at < 0)
      return this.lose(
        `the registry holds ${status.size} bytes of the blob, fewer than the ${this.offset} sent before the chunk still held`,
      )
    if (at > this.held)
      throw registryErrors.registryRefused(
        `[GET] ${redactUrl(this.location)}: the registry says it holds ${status.size} bytes, more than the ${this.offset + this.held} sent`,
      )
    if (at > from) this.stalls = 0
    return at
  }

  private lose(why: string): undefined {
    this.again = `${why}: the blob is uploaded again`
    this.held = 0
    return undefined
  }

  async commit(expected: { digest: string; size: number }): Promise<void | StreamAgain> {
    await this.flush()
    if (this.again) return restream(this.client, this.location, { streamAgain: this.again })
    if (this.offset !== expected.size)
      throw registryErrors.registryRefused(`upload of \`${expected.digest}\`: sent ${this.offset} bytes, expected ${expected.size}`)
    await this.client.finishUpload(this.location, expected.digest)
  }

  async abort(): Promise<void> {
    await this.client.cancelUpload(this.location)
  }
}

/** Reads a blob without sending it, so that the engine learns its digest and streams it again for a monolithic PUT. */
class DigestProbe implements BlobWriter {
  async write(): Promise<void> {}
  async commit(expected: { digest: string }): Promise<StreamAgain> {
    return { streamAgain: `the registry takes whole blobs only: \`${expected.digest}\` is streamed again with its digest` }
  }
  async abort(): Promise<void> {}
}

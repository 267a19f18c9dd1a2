// A blob upload in the shape the registry takes (protocols.md §3.6), as a BlobWriter the engine
// streams into: one streamed PATCH then `PUT ?digest=`; ranged PATCH chunks; or one PUT whose body
// is the stream, which needs the digest first (a DigestProbe learns it on a first pass). An upload
// that needs the bytes again says so at commit with `{ streamAgain }`, as the contract asks.
import { isModelcarError, redactUrl, type BlobWriter, type StreamAgain } from '@modelcar/core'
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

/** PATCHes of `chunkBytes` with Content-Range (each retried on its own), then PUT ?digest=. */
class ChunkedUpload implements BlobWriter {
  private buffer: Buffer
  private held = 0
  private offset = 0

  constructor(
    private readonly client: RegistryClient,
    private location: string,
    private readonly chunkBytes: number,
  ) {
    this.buffer = Buffer.allocUnsafe(chunkBytes)
  }

  async write(chunk: Uint8Array): Promise<void> {
    let at = 0
    while (at < chunk.byteLength) {
      const n = Math.min(this.chunkBytes - this.held, chunk.byteLength - at)
      this.buffer.set(chunk.subarray(at, at + n), this.held)
      this.held += n
      at += n
      if (this.held === this.chunkBytes) await this.flush()
    }
  }

  private async flush(): Promise<void> {
    if (this.held === 0) return
    const body = this.buffer.subarray(0, this.held)
    const res = await this.client.send('PATCH', this.location, {
      ok: [202, 204],
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `${this.offset}-${this.offset + this.held - 1}`,
        'content-length': String(this.held),
      },
      body,
    })
    await res.body?.cancel()
    this.location = nextLocation(res, this.location)
    this.offset += this.held
    this.held = 0
    // fetch may still hold the old bytes; a fresh buffer keeps them intact.
    this.buffer = Buffer.allocUnsafe(this.chunkBytes)
  }

  async commit(expected: { digest: string; size: number }): Promise<void> {
    await this.flush()
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

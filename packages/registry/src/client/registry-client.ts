// An OCI distribution client of our own on fetch: blobs and manifests of one repository, with
// authentication from RegistryAuth, retries (honouring Retry-After) for requests whose body can
// be sent again, and uploads in the three shapes registries accept. Every failure is a
// ModelcarError naming method, URL and status.
import { createHash } from 'node:crypto'
import {
  errors,
  isModelcarError,
  MediaType,
  sha256Digest,
  skipBytes,
  sleep,
  type BlobWriter,
  type Descriptor,
  type ModelcarError,
} from '@modelcar/core'
import { BodyBridge } from './body-bridge.js'
import { displayUrl, refusal, registryErrors, RETRY_STATUSES, retryAfterMs, unreachable, type RefusalContext } from './registry-errors.js'
import type { RegistryAuth } from '../auth/index.js'
import type { UploadStrategy } from './upload-strategy.js'

const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ')

export interface RegistryClientOptions {
  /** `http(s)://host[:port]` */
  baseUrl: string
  /** Registry name for messages and credentials (`docker.io`, `quay.io`). */
  registry: string
  repository: string
  auth: RegistryAuth
  /** For redirected blob reads to another origin (a CDN), which must not get our credentials. */
  fetch: typeof globalThis.fetch
  signal?: AbortSignal
  /** Also ask for push rights. */
  push?: boolean
  /** Attempts for one request whose body can be replayed. Default 5. */
  attempts?: number
  /** First backoff in ms when the registry sent no Retry-After. Default 500. */
  backoffMs?: number
  onRetry?: (what: string, attempt: number, reason: string) => void
}

interface SendInit {
  headers?: Record<string, string>
  body?: string | Uint8Array | ReadableStream<Uint8Array>
  /** Statuses that are answers, not failures. */
  ok: number[]
  redirect?: RequestInit['redirect']
}

export class RegistryClient {
  readonly repository: string
  private readonly scopes: string[]
  private readonly extraScopes = new Set<string>()

  constructor(private readonly o: RegistryClientOptions) {
    this.repository = o.repository
    this.scopes = [`repository:${o.repository}:${o.push ? 'pull,push' : 'pull'}`]
  }

  /** Scopes for every request: this repository, plus repositories blobs are mounted from. */
  private scopeList(): string[] {
    return [...this.scopes, ...this.extraScopes]
  }

  private url(path: string): string {
    return /^https?:\/\//.test(path) ? path : `${this.o.baseUrl}${path}`
  }

  private ctx(method: string, url: string): RefusalContext {
    return { method, url, repository: `${this.o.registry}/${this.o.repository}`, credentials: undefined }
  }

  /** A refusal with the source of the credentials in its hint (looked up only when needed). */
  private async refused(res: Response, method: string, url: string): Promise<ModelcarError> {
    const c = this.ctx(method, url)
    if (res.status === 401) c.credentials = await this.o.auth.describe(new URL(url).host).catch(() => undefined)
    return refusal(res, c)
  }

  /**
   * One request. A body that can be sent again (none, string, bytes) is retried on a cut
   * connection and on 408/429/5xx, waiting what Retry-After says; a streamed body is not (its
   * caller streams it again from the source).
   */
  async send(method: string, path: string, init: SendInit, authenticated = true): Promise<Response> {
    const url = this.url(path)
    const replayable = !(init.body instanceof ReadableStream)
    const attempts = replayable ? (this.o.attempts ?? 5) : 1
    for (let attempt = 1; ; attempt++) {
      let res: Response
      try {
        const req: RequestInit & { duplex?: 'half' } = {
          method,
          headers: init.headers,
          body: init.body as RequestInit['body'],
          signal: this.o.signal,
          redirect: init.redirect ?? 'follow',
        }
        if (!replayable) {
          req.duplex = 'half'
          // fetch clones a request it may redirect, teeing its body: the branch nobody reads
          // would keep every chunk of the layer in memory. A stream cannot follow a redirect anyway.
          req.redirect = 'error'
        }
        res = authenticated ? await this.o.auth.fetch(url, req, this.scopeList()) : await this.o.fetch(url, req)
      } catch (err) {
        if (this.o.signal?.aborted) throw errors.aborted(this.o.signal.reason)
        // The auth module's own verdicts (credentials rejected, access denied) are final.
        if (isModelcarError(err) && !err.retryable) throw err
        const e = unreachable(err, this.ctx(method, url))
        if (!e.retryable || attempt >= attempts) throw e
        await this.pause(`${method} ${path}`, attempt, e.message, null)
        continue
      }
      if (init.ok.includes(res.status)) return res
      if (RETRY_STATUSES.has(res.status) && attempt < attempts) {
        await res.body?.cancel().catch(() => {})
        await this.pause(`${method} ${path}`, attempt, `${res.status} ${res.statusText}`, res.headers.get('retry-after'))
        continue
      }
      throw await this.refused(res, method, url)
    }
  }

  private async pause(what: string, attempt: number, reason: string, retryAfter: string | null): Promise<void> {
    this.o.onRetry?.(what, attempt, reason)
    const ms = retryAfter !== null ? retryAfterMs(retryAfter) : Math.min(30_000, (this.o.backoffMs ?? 500) * 2 ** (attempt - 1))
    await sleep(ms, this.o.signal)
  }

  /** GET /v2/: the registry answers, and our credentials (if it wants any) are good. */
  async ping(): Promise<void> {
    // Reachability first, with our own message (host, error code); then the auth dance.
    const res = await this.send('GET', '/v2/', { ok: [200, 401] }, false)
    await res.body?.cancel()
    await this.o.auth.prepare(this.o.baseUrl, this.scopeList())
  }

  /** Gets credentials ready before a streamed upload (its 401 cannot be answered by sending again). */
  prepare(): Promise<void> {
    return this.o.auth.prepare(this.o.baseUrl, this.scopeList())
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.send('HEAD', `/v2/${this.repository}/blobs/${digest}`, { ok: [200, 404] })
    await res.body?.cancel()
    return res.status === 200
  }

  /** The digest a tag or digest points at, or undefined when there is none. */
  async headManifest(reference: string): Promise<string | undefined> {
    const res = await this.send('HEAD', `/v2/${this.repository}/manifests/${reference}`, {
      ok: [200, 404],
      headers: { accept: MANIFEST_ACCEPT },
    })
    await res.body?.cancel()
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined
  }

  /** A manifest or index: its exact bytes, media type and digest (checked when asked by digest). */
  async getManifest(reference: string): Promise<{ bytes: Uint8Array; mediaType: string; digest: string } | undefined> {
    const path = `/v2/${this.repository}/manifests/${reference}`
    const res = await this.send('GET', path, { ok: [200, 404], headers: { accept: MANIFEST_ACCEPT } })
    if (res.status === 404) {
      await res.body?.cancel()
      return undefined
    }
    const bytes = new Uint8Array(await res.arrayBuffer())
    const digest = sha256Digest(bytes)
    if (reference.startsWith('sha256:') && digest !== reference)
      throw errors.blobDigestMismatch(`${this.o.registry}/${this.repository}`, reference, digest)
    let mediaType = res.headers.get('content-type')?.split(';')[0]?.trim() ?? ''
    try {
      const declared = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: string }).mediaType
      if (declared) mediaType = declared
    } catch {
      throw errors.imageUnsupported(`the manifest \`${this.o.registry}/${this.repository}:${reference}\` is not JSON`)
    }
    return { bytes, mediaType, digest }
  }

  /** PUT a manifest or index with its exact bytes; checks the digest the registry computed. */
  async putManifest(reference: string, bytes: Uint8Array, mediaType: string): Promise<{ digest: string; subjectProcessed: boolean }> {
    const res = await this.send('PUT', `/v2/${this.repository}/manifests/${reference}`, {
      ok: [200, 201, 202],
      headers: { 'content-type': mediaType },
      body: bytes,
    })
    await res.body?.cancel()
    const digest = sha256Digest(bytes)
    const said = res.headers.get('docker-content-digest')
    if (said && said !== digest) throw errors.blobDigestMismatch(`${this.o.registry}/${this.repository} (manifest PUT)`, digest, said)
    return { digest, subjectProcessed: res.headers.has('oci-subject') }
  }

  /** Whether the registry answers the OCI 1.1 referrers API for `digest` with an index. */
  async hasReferrersApi(digest: string): Promise<boolean> {
    const res = await this.send('GET', `/v2/${this.repository}/referrers/${digest}`, {
      ok: [200, 404, 400, 405],
      headers: { accept: MediaType.ociIndex },
    })
    const type = res.headers.get('content-type') ?? ''
    await res.body?.cancel()
    return res.status === 200 && type.includes(MediaType.ociIndex)
  }

  /** A blob as a stream from byte `start`; a redirect to another origin is followed without our credentials. */
  async *readBlob(desc: Pick<Descriptor, 'digest'>, start = 0): AsyncGenerator<Uint8Array> {
    const headers: Record<string, string> = start > 0 ? { range: `bytes=${start}-` } : {}
    let res = await this.send('GET', `/v2/${this.repository}/blobs/${desc.digest}`, {
      ok: [200, 206, 301, 302, 303, 307, 308],
      headers,
      redirect: 'manual',
    })
    for (let hops = 0; res.status >= 300 && res.status < 400; hops++) {
      const location = res.headers.get('location')
      await res.body?.cancel()
      if (!location || hops >= 5) throw registryErrors.registryRefused(`GET blob ${desc.digest}: too many redirects`)
      const next = new URL(location, res.url || this.url(`/v2/${this.repository}/blobs/${desc.digest}`)).href
      // A CDN gets no Authorization (the distribution spec forbids forwarding it across hosts).
      res =
        new URL(next).origin === new URL(this.o.baseUrl).origin
          ? await this.send('GET', next, { ok: [200, 206, 301, 302, 303, 307, 308], headers, redirect: 'manual' })
          : await this.o.fetch(next, { headers, redirect: 'manual', signal: this.o.signal })
      if (res.status >= 400) throw await this.refused(res, 'GET', next)
    }
    if (!res.body) return
    const body = res.body as unknown as AsyncIterable<Uint8Array>
    // A registry (or its CDN) that ignored the Range sends the whole blob.
    yield* start > 0 && res.status === 200 ? skipBytes(body, start) : body
  }

  /** A small blob whole (a config), digest checked. */
  async getBlob(desc: Pick<Descriptor, 'digest' | 'size'>): Promise<Uint8Array> {
    const parts: Uint8Array[] = []
    const hash = createHash('sha256')
    for await (const c of this.readBlob(desc)) {
      parts.push(c)
      hash.update(c)
    }
    const digest = `sha256:${hash.digest('hex')}`
    if (digest !== desc.digest) throw errors.blobDigestMismatch(`${this.o.registry}/${this.repository}`, desc.digest, digest)
    return Buffer.concat(parts)
  }

  /** Asks the registry to link a blob from another repository of its own; false when it would not. */
  async mount(digest: string, from: string): Promise<boolean> {
    this.extraScopes.add(`repository:${from}:pull`)
    const res = await this.send(
      'POST',
      `/v2/${this.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      { ok: [201, 202], headers: { 'content-length': '0' } },
    )
    await res.body?.cancel()
    if (res.status === 201) return true
    // 202: an upload session we do not want.
    const location = res.headers.get('location')
    if (location)
      await this.send('DELETE', new URL(location, res.url).href, { ok: [200, 202, 204, 404] })
        .then((r) => r.body?.cancel())
        .catch(() => {})
    return false
  }

  /** POST …/blobs/uploads/: the session's URL (absolute; query params kept exactly). */
  async startUpload(): Promise<string> {
    const url = this.url(`/v2/${this.repository}/blobs/uploads/`)
    const res = await this.send('POST', url, { ok: [202], headers: { 'content-length': '0' } })
    await res.body?.cancel()
    return nextLocation(res, url)
  }

  /** Finishes an upload: PUT <location>?digest=, checking the digest the registry reports. */
  async finishUpload(location: string, digest: string, body?: Uint8Array | ReadableStream<Uint8Array>, size?: number): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' }
    if (size !== undefined) headers['content-length'] = String(size)
    else if (!body) headers['content-length'] = '0'
    const res = await this.send('PUT', withDigest(location, digest), { ok: [201, 204], headers, body })
    await res.body?.cancel()
    const said = res.headers.get('docker-content-digest')
    if (said && said !== digest) throw errors.blobDigestMismatch(`${this.o.registry}/${this.repository} (upload)`, digest, said)
  }

  async cancelUpload(location: string): Promise<void> {
    const res = await this.send('DELETE', location, { ok: [200, 202, 204, 404, 405] }).catch(() => undefined)
    await res?.body?.cancel().catch(() => {})
  }

  /** A small blob in one go (a config): POST, then PUT with the bytes. */
  async putBlob(bytes: Uint8Array, digest: string): Promise<void> {
    const location = await this.startUpload()
    await this.finishUpload(location, digest, bytes, bytes.byteLength)
  }

  /** A writer for one blob in the given upload shape. */
  async openUpload(strategy: UploadStrategy, known: { digest?: string; size?: number }): Promise<BlobWriter> {
    if (strategy.mode === 'monolithic') {
      if (!known.digest || known.size === undefined) return new DigestProbe()
      return new MonolithicUpload(this, await this.startUpload(), known.digest, known.size)
    }
    const location = await this.startUpload()
    return strategy.mode === 'chunked' ? new ChunkedUpload(this, location, strategy.chunkBytes) : new StreamedUpload(this, location)
  }
}

/** Where an upload continues: the answer's Location, resolved against the request's URL. */
export function nextLocation(res: Response, requestUrl: string): string {
  const location = res.headers.get('location')
  if (!location)
    throw registryErrors.registryRefused(`${displayUrl(requestUrl)}: ${res.status} without a Location header`, {
      hint: 'the registry does not follow the distribution spec here',
    })
  return new URL(location, requestUrl).href
}

/** Appends `digest=` to an upload URL without re-encoding the query the registry gave us. */
export function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`
}

/**
 * Thrown when an upload needs the blob streamed once more with facts it did not have (the digest,
 * for a monolithic PUT): retryable at once, so the engine re-streams it from the source.
 */
export function streamAgain(message: string): ModelcarError {
  return Object.assign(registryErrors.registryRefused(message, { retryable: true }), { retryAfterMs: 0 })
}

/** One PATCH whose body is the stream of writes, then PUT ?digest=. No buffer, no digest up front. */
class StreamedUpload implements BlobWriter {
  private readonly bridge = new BodyBridge()
  private readonly answer: Promise<Response | undefined>
  private closing = false
  private sent = 0

  constructor(
    private readonly client: RegistryClient,
    private location: string,
  ) {
    this.answer = client
      .send('PATCH', location, { ok: [202, 204], headers: { 'content-type': 'application/octet-stream' }, body: this.bridge.stream })
      .then(
        (res) => {
          // An answer before the last byte was written means the registry stopped reading.
          if (!this.closing)
            this.bridge.fail(
              registryErrors.registryRefused(`PATCH ${displayUrl(location)}: the registry answered ${res.status} before the upload ended`, {
                retryable: true,
              }),
            )
          return res
        },
        (err: unknown) => {
          this.bridge.fail(err)
          return undefined
        },
      )
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.bridge.push(chunk)
    this.sent += chunk.byteLength
  }

  async commit(expected: { digest: string; size: number }): Promise<void> {
    if (this.sent !== expected.size)
      throw registryErrors.registryRefused(`upload of \`${expected.digest}\`: sent ${this.sent} bytes, expected ${expected.size}`)
    this.closing = true
    this.bridge.close()
    const res = await this.answer
    if (!res) throw this.bridge.failed
    await res.body?.cancel()
    this.location = nextLocation(res, this.location)
    await this.client.finishUpload(this.location, expected.digest)
  }

  async abort(): Promise<void> {
    this.bridge.fail(new Error('upload aborted'))
    await this.answer.catch(() => {})
    await this.client.cancelUpload(this.location)
  }
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

/** One PUT ?digest= whose body is the stream of writes, with its Content-Length: for registries that take no PATCH. */
class MonolithicUpload implements BlobWriter {
  private readonly bridge = new BodyBridge()
  private readonly answer: Promise<void>
  private failure: unknown

  constructor(
    private readonly client: RegistryClient,
    private readonly location: string,
    digest: string,
    size: number,
  ) {
    this.answer = client.finishUpload(location, digest, this.bridge.stream, size).catch((err: unknown) => {
      this.failure = err
      this.bridge.fail(err)
    })
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.bridge.push(chunk)
  }

  async commit(): Promise<void> {
    this.bridge.close()
    await this.answer
    if (this.failure) throw this.failure
  }

  async abort(): Promise<void> {
    this.bridge.fail(new Error('upload aborted'))
    await this.answer
    await this.client.cancelUpload(this.location)
  }
}

/** Reads a blob without sending it, so that the engine learns its digest and streams it again for a monolithic PUT. */
class DigestProbe implements BlobWriter {
  async write(): Promise<void> {}
  async commit(expected: { digest: string }): Promise<void> {
    throw streamAgain(`the registry takes whole blobs only: \`${expected.digest}\` is streamed again with its digest`)
  }
  async abort(): Promise<void> {}
}

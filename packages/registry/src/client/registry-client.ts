// An OCI distribution client of our own on fetch: blobs and manifests of one repository, with
// authentication from RegistryAuth and retries by core's one policy (Retry-After honoured) for
// requests whose body can be sent again. Every failure is a ModelcarError naming method, URL and
// status. Uploads (blob-uploads.ts) are built on `send`, `startUpload` and `finishUpload`.
import { createHash } from 'node:crypto'
import {
  errors,
  fetchFollowing,
  isModelcarError,
  MediaType,
  redactUrl,
  retryDelayMs,
  sha256Digest,
  skipBytes,
  sleep,
  withRetries,
  type Descriptor,
  type ModelcarError,
  type RetryPolicy,
} from '@modelcar/core'
import type { RegistryAuth } from '../auth/index.js'
import { registryErrors } from './registry-errors.js'

const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ')

export interface RegistryClientOptions {
  /** `http(s)://host[:port]` */
  baseUrl: string
  /** Registry name for messages and credentials (`docker.io`, `quay.io`). */
  registry: string
  repository: string
  auth: RegistryAuth
  /** For the unauthenticated reachability check. */
  fetch: typeof globalThis.fetch
  signal?: AbortSignal
  /** Also ask for push rights. */
  push?: boolean
  /** How requests whose body can be sent again are retried. Default: core's DEFAULT_RETRY_POLICY. */
  policy?: RetryPolicy
  /** Told before each wait: what is retried (`PUT https://host/v2/…`), the retry's number, why. */
  onRetry?: (what: string, retry: number, reason: string) => void
}

export interface SendInit {
  headers?: Record<string, string>
  body?: string | Uint8Array | ReadableStream<Uint8Array>
  /** Statuses that are answers, not failures. */
  ok: number[]
  /**
   * Sent once although the body could be sent again: the caller recovers by itself. A chunk PATCH
   * the registry took part of must not be sent again as is (distribution 2.8 appends what comes,
   * whatever its Content-Range), so the chunked upload asks the registry where it stands instead.
   */
  once?: boolean
}

export interface Manifest {
  bytes: Uint8Array
  mediaType: string
  digest: string
}

export class RegistryClient {
  readonly repository: string
  private readonly scopes: string[]
  private readonly extraScopes = new Set<string>()

  constructor(private readonly o: RegistryClientOptions) {
    this.repository = o.repository
    this.scopes = [`repository:${o.repository}:${o.push ? 'pull,push' : 'pull'}`]
  }

  /** `registry/repository`, for messages. */
  get name(): string {
    return `${this.o.registry}/${this.repository}`
  }

  /**
   * One request. A body that can be sent again (none, text, bytes) is retried by the policy on a
   * cut connection and on 408/429/5xx, waiting what Retry-After asks; what it finally throws is
   * marked not retryable, so no caller further out retries it again. A streamed body is sent once:
   * its retryable failure goes back to the engine, which streams the blob again from the source;
   * so is a body marked `once`, whose caller resumes by itself (a chunk PATCH).
   */
  send(method: string, path: string, init: SendInit, authenticated = true): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? path : `${this.o.baseUrl}${path}`
    const once = () => this.sendOnce(method, url, init, authenticated)
    if (init.body instanceof ReadableStream || init.once) return once()
    return withRetries(once, {
      policy: this.o.policy,
      signal: this.o.signal,
      onRetry: (retry, err) => this.o.onRetry?.(`${method} ${redactUrl(url)}`, retry, err instanceof Error ? err.message : String(err)),
    })
  }

  private async sendOnce(method: string, url: string, init: SendInit, authenticated: boolean): Promise<Response> {
    const req: RequestInit = { method, headers: init.headers, body: init.body, signal: this.o.signal }
    let res: Response
    try {
      res = authenticated
        ? await this.o.auth.fetch(url, req, [...this.scopes, ...this.extraScopes])
        : (await fetchFollowing(this.o.fetch, url, req)).response
    } catch (err) {
      if (this.o.signal?.aborted) throw errors.aborted(this.o.signal.reason)
      // The auth module's verdicts say themselves whether another try may help.
      if (isModelcarError(err)) throw err
      throw registryErrors.unreachable(err, method, url)
    }
    if (init.ok.includes(res.status)) return res
    throw await this.refused(res, method, res.url || url)
  }

  /** A refusal with the source of the credentials in its hint (looked up only when needed). */
  private async refused(res: Response, method: string, url: string): Promise<ModelcarError> {
    const credentials = res.status === 401 ? await this.o.auth.describe(new URL(url).host).catch(() => undefined) : undefined
    return registryErrors.refusal(res, { method, url, repository: this.name, credentials })
  }

  /** GET /v2/: the registry answers, and our credentials (if it wants any) are good. */
  async ping(): Promise<void> {
    // Reachability first, with our own message (host, error code); then the auth dance.
    const res = await this.send('GET', '/v2/', { ok: [200, 401] }, false)
    await res.body?.cancel()
    await this.prepare()
  }

  /** Gets credentials ready before a streamed upload (its 401 cannot be answered by sending again). */
  prepare(): Promise<void> {
    return this.o.auth.prepare(this.o.baseUrl, [...this.scopes, ...this.extraScopes])
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
  async getManifest(reference: string): Promise<Manifest | undefined> {
    const path = `/v2/${this.repository}/manifests/${reference}`
    const res = await this.send('GET', path, { ok: [200, 404], headers: { accept: MANIFEST_ACCEPT } })
    if (res.status === 404) {
      await res.body?.cancel()
      return undefined
    }
    const bytes = new Uint8Array(await res.arrayBuffer())
    const digest = sha256Digest(bytes)
    if (reference.startsWith('sha256:') && digest !== reference) throw errors.blobDigestMismatch(this.name, reference, digest)
    let mediaType = res.headers.get('content-type')?.split(';')[0]?.trim() ?? ''
    try {
      const declared = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: string }).mediaType
      if (declared) mediaType = declared
    } catch {
      throw errors.imageUnsupported(`the manifest \`${this.name}:${reference}\` is not JSON`)
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
    if (said && said !== digest) throw errors.blobDigestMismatch(`${this.name} (manifest PUT)`, digest, said)
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

  /** A blob as a stream from byte `start`; a redirect to storage or a CDN is followed without our credentials. */
  async *readBlob(desc: Pick<Descriptor, 'digest'>, start = 0): AsyncGenerator<Uint8Array> {
    const headers: Record<string, string> = start > 0 ? { range: `bytes=${start}-` } : {}
    const res = await this.send('GET', `/v2/${this.repository}/blobs/${desc.digest}`, { ok: [200, 206], headers })
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
    if (digest !== desc.digest) throw errors.blobDigestMismatch(this.name, desc.digest, digest)
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
    if (location) await this.cancelUpload(new URL(location, res.url || this.o.baseUrl).href)
    return false
  }

  /** POST …/blobs/uploads/: the session's URL (absolute; query params kept exactly). */
  async startUpload(): Promise<string> {
    const url = `${this.o.baseUrl}/v2/${this.repository}/blobs/uploads/`
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
    if (said && said !== digest) throw errors.blobDigestMismatch(`${this.name} (upload)`, digest, said)
  }

  /**
   * Where an upload session stands (`GET <location>`: 204 with Range and Location): the bytes the
   * registry holds and the location to go on with; undefined when the session is gone (404:
   * distribution 2.8 drops a session whose PATCH it took only part of, BLOB_UPLOAD_INVALID).
   */
  async uploadStatus(location: string): Promise<{ location: string; size: number } | undefined> {
    const res = await this.send('GET', location, { ok: [204, 404] })
    await res.body?.cancel()
    if (res.status === 404) return undefined
    const size = uploadedBytes(res.headers.get('range'))
    if (size === undefined)
      throw registryErrors.registryRefused(`[GET] ${redactUrl(location)}: 204 without a readable Range header`, {
        hint: 'the registry does not follow the distribution spec here',
      })
    return { location: res.headers.has('location') ? nextLocation(res, location) : location, size }
  }

  /** Reports a retry its caller makes by itself (a resumed chunk) and waits what the policy says (Retry-After honoured), or `ms`. */
  async retryWait(what: string, retry: number, err: unknown, ms = retryDelayMs(retry, err, this.o.policy)): Promise<void> {
    this.o.onRetry?.(what, retry, err instanceof Error ? err.message : String(err))
    await sleep(ms, this.o.signal)
  }

  /** Drops an upload session, as well as the registry lets us; never fails. */
  async cancelUpload(location: string): Promise<void> {
    const res = await this.send('DELETE', location, { ok: [200, 202, 204, 404, 405] }).catch(() => undefined)
    await res?.body?.cancel().catch(() => {})
  }

  /** A small blob in one go (a config): POST, then PUT with the bytes. */
  async putBlob(bytes: Uint8Array, digest: string): Promise<void> {
    const location = await this.startUpload()
    await this.finishUpload(location, digest, bytes, bytes.byteLength)
  }
}

/** Where an upload continues: the answer's Location, resolved against the request's URL. */
export function nextLocation(res: Response, requestUrl: string): string {
  const location = res.headers.get('location')
  if (!location)
    throw registryErrors.registryRefused(`${redactUrl(requestUrl)}: ${res.status} without a Location header`, {
      hint: 'the registry does not follow the distribution spec here',
    })
  return new URL(location, requestUrl).href
}

/**
 * The bytes an upload holds, from the Range of an upload status answer (protocols.md §3.6):
 * `0-<last byte>` as the spec says, but `0-0` is also what distribution says for no bytes at all
 * (read as 0: should the registry hold one byte, it gets it again and refuses the digest at the
 * PUT, a failure and never a wrong blob);
 * `bytes=0-<count>` is Quay's status answer, one off (read as the count: Quay skips an overlap
 * sent again, so reading one byte short is safe where one byte long would lose a byte);
 * `0--1` / `bytes=0--1` is an empty upload. Undefined when there is no such header.
 */
export function uploadedBytes(range: string | null): number | undefined {
  const m = /^\s*(bytes=)?0-(-1|\d+)\s*$/i.exec(range ?? '')
  if (!m) return undefined
  const end = Number(m[2])
  if (end < 0) return 0
  if (m[1]) return end
  return end === 0 ? 0 : end + 1
}

/** Appends `digest=` to an upload URL without re-encoding the query the registry gave us. */
export function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`
}

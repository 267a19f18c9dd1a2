// An artifact in a registry (`registry:HOST/REPO[:TAG|@sha256:…]`), with the credentials podman
// and Docker keep. Documents come through @modelcar/registry's client (retried by the policy);
// layer bytes by ranged GETs: a few kilobytes for tar headers at listing, a stream from an offset
// for a source read (one attempt, so the engine's retries are the only ones).
import {
  errors,
  isIndexMediaType,
  isManifestMediaType,
  isModelcarError,
  isTransientNetworkError,
  skipBytes,
  withRetries,
  type ComponentContext,
  type Descriptor,
} from '@modelcar/core'
import {
  formatImageReference,
  registryAuthFor,
  registryBaseUrl,
  registryClientFor,
  registryErrors,
  type ImageReference,
  type RegistryAuth,
} from '@modelcar/registry'
import { ociErrors } from '../errors/oci-errors.js'
import { nothing, type BlobStore } from './blob-store.js'

export function registryStore(name: string, r: ImageReference, insecure: boolean, ctx: ComponentContext): BlobStore {
  const baseUrl = registryBaseUrl(r.apiHost, insecure)
  const auth = registryAuthFor(r, ctx, { insecure })
  const client = registryClientFor(r, ctx, { insecure, name, auth })
  const blobs = blobReader(auth, `${baseUrl}/v2/${r.repository}/blobs/`, `${r.registry}/${r.repository}`, [
    `repository:${r.repository}:pull`,
  ])
  return {
    name,
    repository: `${r.registry}/${r.repository}`,
    async root() {
      const reference = r.digest ?? r.tag!
      const top = await client.getManifest(reference)
      if (!top) throw ociErrors.refMissing(`registry:${formatImageReference(r)}`)
      return { mediaType: top.mediaType, digest: top.digest, size: top.bytes.byteLength }
    },
    async readDocument(desc) {
      if (!isIndexMediaType(desc.mediaType) && !isManifestMediaType(desc.mediaType)) return client.getBlob(desc)
      const doc = await client.getManifest(desc.digest)
      if (!doc) throw errors.blobMissing(desc.digest, name)
      return doc.bytes
    },
    readRange: (desc, start, end) =>
      withRetries(
        async () => {
          const parts: Uint8Array[] = []
          for await (const chunk of await blobs(desc, start, Math.min(end, desc.size), ctx.signal)) parts.push(chunk)
          return Buffer.concat(parts)
        },
        { signal: ctx.signal },
      ),
    open: (desc, start, end, signal) => blobs(desc, start, Math.min(end ?? desc.size, desc.size), signal),
  }
}

type BlobRead = (desc: Descriptor, start: number, end: number, signal: AbortSignal) => Promise<AsyncIterable<Uint8Array>>

/** One GET of bytes `[start, end)` of a blob; a registry that ignores Range sends the whole blob, of which the range is cut out. */
function blobReader(auth: RegistryAuth, blobsUrl: string, repository: string, scopes: string[]): BlobRead {
  return async (desc, start, end, signal) => {
    if (start >= end) return nothing()
    const url = `${blobsUrl}${desc.digest}`
    let res: Response
    try {
      res = await auth.fetch(url, { method: 'GET', headers: { range: `bytes=${start}-${end - 1}` }, signal }, scopes)
    } catch (err) {
      if (signal.aborted) throw errors.aborted(signal.reason)
      if (isModelcarError(err)) throw err
      throw registryErrors.unreachable(err, 'GET', url)
    }
    if (res.status !== 200 && res.status !== 206) throw await registryErrors.refusal(res, { method: 'GET', url, repository })
    if (!res.body) return nothing()
    const body = res.body as unknown as AsyncIterable<Uint8Array>
    return cutBody(res.status === 200 && start > 0 ? skipBytes(body, start) : body, end - start, url, signal)
  }
}

/** At most `length` bytes of a body (then it is let go); a connection cut mid-body is a retryable error. */
async function* cutBody(body: AsyncIterable<Uint8Array>, length: number, url: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  let left = length
  try {
    for await (const chunk of body) {
      if (chunk.byteLength >= left) {
        yield chunk.subarray(0, left)
        return
      }
      left -= chunk.byteLength
      yield chunk
    }
  } catch (err) {
    if (signal.aborted) throw errors.aborted(signal.reason)
    if (isModelcarError(err) || !isTransientNetworkError(err)) throw err
    throw registryErrors.unreachable(err, 'GET', url)
  }
}

// `base: registry:host/repo:tag` (or `@sha256:…`): the base image read from a registry. Its
// documents (indexes, manifests, configs) are fetched and checked here; its layers are not: they
// reach each sink as a stream when the sink lacks them, or are mounted on the same registry.
import {
  errors,
  isIndexMediaType,
  isManifestMediaType,
  loadDocuments,
  type BaseImage,
  type BaseRef,
  type BlobSource,
  type ComponentContext,
} from '@modelcar/core'
import { formatImageReference, parseImageReference, registryBaseUrl } from './client/image-reference.js'
import { RegistryClient } from './client/registry-client.js'
import { createRegistryAuth } from './auth/index.js'

/** The `loadBase` hook of runRecipe: reads `registry:` bases, leaves every other kind to the core. */
export async function loadRegistryBase(ref: BaseRef, ctx: ComponentContext): Promise<BaseImage | undefined> {
  if (ref.kind !== 'registry') return undefined
  const name = `registry:${ref.ref}`
  const r = parseImageReference(ref.ref)
  if (!r)
    throw errors.argumentInvalid(
      `base \`${name}\` is not an image reference`,
      'write `registry:HOST/REPO[:TAG|@sha256:…]`, e.g. `registry:quay.io/org/busybox:1.36`',
    )
  const client = new RegistryClient({
    baseUrl: registryBaseUrl(r.apiHost, false),
    registry: r.registry,
    repository: r.repository,
    auth: createRegistryAuth({ env: ctx.env, fetch: ctx.fetch, secret: ctx.secret }),
    fetch: ctx.fetch,
    signal: ctx.signal,
    onRetry: (what, attempt, reason) => ctx.emit({ type: 'retry', what: `${name}: ${what}`, attempt, reason }),
  })
  const reference = r.digest ?? r.tag!
  const top = await client.getManifest(reference)
  if (!top) {
    throw errors.registryRefused(
      `base \`${name}\`: ${r.digest ? 'digest' : 'tag'} \`${reference}\` is not in \`${r.registry}/${r.repository}\``,
      {
        hint: 'check the tag (`skopeo list-tags docker://REGISTRY/REPO`) and the repository name',
      },
    )
  }
  if (!isIndexMediaType(top.mediaType) && !isManifestMediaType(top.mediaType)) {
    throw errors.imageUnsupported(
      `base \`${name}\` is a \`${top.mediaType || 'manifest without a media type'}\`, not an OCI or Docker v2 image`,
      'use an image in OCI or Docker schema 2 format',
    )
  }
  const root = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.byteLength }
  const blobs: BlobSource = {
    name: `registry:${formatImageReference(r)}`,
    async readBlob(desc) {
      if (desc.digest === top.digest) return top.bytes
      if (isIndexMediaType(desc.mediaType) || isManifestMediaType(desc.mediaType)) {
        const doc = await client.getManifest(desc.digest)
        if (!doc) throw errors.blobMissing(desc.digest, name)
        return doc.bytes
      }
      return client.getBlob(desc)
    },
    openBlob: (desc, start) => client.readBlob(desc, start),
  }
  const documents = await loadDocuments(blobs, root)
  return { name, root, documents, blobs, platforms: [] }
}

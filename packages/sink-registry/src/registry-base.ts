// Base `registry`: the base image read from a registry (`base: registry:host/repo:tag` or
// `@sha256:…`). Its documents (indexes, manifests, configs) are fetched and checked here; its
// layers are not: they reach each sink as a stream when the sink lacks them, or are mounted on
// the same registry.
import {
  defineBase,
  isIndexMediaType,
  isManifestMediaType,
  loadDocuments,
  Type,
  withDefault,
  errors,
  type BaseImage,
  type BlobSource,
  type ComponentContext,
} from '@modelcar/core'
import {
  formatImageReference,
  IMAGE_REFERENCE_PATTERN,
  parseImageReference,
  registryClientFor,
  registryErrors,
  type ImageReference,
} from '@modelcar/registry'

export const registryBaseSchema = Type.Object(
  {
    ref: Type.String({
      description:
        'The base image: `HOST[:PORT]/REPOSITORY[:TAG|@sha256:…]` (a name without a host is on Docker Hub). Credentials come from the files podman and Docker use.',
      pattern: IMAGE_REFERENCE_PATTERN,
      examples: ['quay.io/org/busybox:1.36', 'docker.io/library/busybox@sha256:…'],
    }),
    insecure: withDefault(
      Type.Boolean({ description: 'Speak plain HTTP to this registry (loopback registries always get it).', examples: [true] }),
      false,
    ),
  },
  { additionalProperties: false },
)

export const registryBase = defineBase({
  type: 'registry',
  description: 'A base image from an OCI registry (OCI or Docker media types, single or multi-arch).',
  schema: registryBaseSchema,
  shortForm: 'registry:HOST/REPO[:TAG|@sha256:…]',
  fromText: (text) =>
    text
      ? { ref: text }
      : { problem: 'no image is named', hint: 'write `registry:HOST/REPO[:TAG|@sha256:…]`, e.g. `registry:quay.io/org/busybox:1.36`' },
  create(config, ctx) {
    const r = parseImageReference(config.ref)
    if (!r)
      throw errors.componentInvalid(
        'registry',
        `\`${config.ref}\` is not an image reference`,
        'write `HOST/REPO[:TAG|@sha256:…]`, e.g. `quay.io/org/busybox:1.36`',
      )
    return { load: () => loadRegistryBase(r, config.insecure, ctx) }
  },
})

async function loadRegistryBase(r: ImageReference, insecure: boolean, ctx: ComponentContext): Promise<BaseImage> {
  const name = `registry:${formatImageReference(r)}`
  const client = registryClientFor(r, ctx, { insecure, name })
  const reference = r.digest ?? r.tag!
  const top = await client.getManifest(reference)
  if (!top) {
    throw registryErrors.registryRefused(
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
    name,
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
  return {
    name,
    root,
    documents,
    blobs,
    platforms: [],
    registry: { registry: r.registry, repository: r.repository, reference: formatImageReference(r) },
  }
}

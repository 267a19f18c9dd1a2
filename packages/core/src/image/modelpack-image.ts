// Where the ModelPack manifest goes in the image a run commits: beside the runnable manifests in
// the image's index, with a platform no runtime selects (`unknown/unknown`), or alone when the
// artifact is all the recipe asks for. The index entry carries no `artifactType` (the manifest
// does): skopeo 1.9 will not copy an index whose entries have one with its digests preserved.
import type { EditedImage, ImageDocument } from '../contract/image.js'
import { encodeJson, sha256Digest } from '../oci/digest.js'
import { isIndexMediaType, MediaType } from '../oci/media-types.js'
import type { Descriptor, ImageIndex, ImageManifest, Platform } from '../oci/types.js'
import { ModelPackMediaType } from '../modelpack/media-types.js'
import type { ModelPackDocuments } from '../modelpack/modelpack-manifest.js'

/** The platform of the ModelPack entry of an index: no runtime picks it. */
export const ARTIFACT_PLATFORM: Platform = { architecture: 'unknown', os: 'unknown' }

/** The artifact alone: its manifest is the image. */
export function modelPackOnly(mp: ModelPackDocuments): EditedImage {
  return {
    root: mp.manifest.descriptor,
    documents: [mp.config, mp.manifest],
    baseBlobs: [],
    rewritten: new Map(),
    dropped: [],
    images: [{ platform: undefined, descriptor: mp.manifest.descriptor, layers: mp.layers, added: mp.layers.length }],
  }
}

/**
 * The Modelcar image with the ModelPack manifest in its index (an index made for it when the image
 * is a single manifest). A ModelPack manifest the base's index held describes the model that was
 * there before: it gives way (and is reported as dropped) unless it is this very one.
 */
export function withModelPack(image: EditedImage, mp: ModelPackDocuments): EditedImage {
  const entry: Descriptor = { ...mp.manifest.descriptor, platform: ARTIFACT_PLATFORM }
  const rootDoc = image.documents.find((d) => d.descriptor.digest === image.root.digest)
  let manifests: Descriptor[]
  let index: ImageIndex
  const dropped: Descriptor[] = []
  if (isIndexMediaType(image.root.mediaType) && rootDoc) {
    index = JSON.parse(Buffer.from(rootDoc.bytes).toString('utf8')) as ImageIndex
    manifests = index.manifests.filter((m) => {
      if (m.digest === entry.digest || !isModelPack(image, m)) return m.digest !== entry.digest
      dropped.push(m)
      return false
    })
  } else {
    const platform = image.images.find((i) => i.descriptor.digest === image.root.digest)?.platform
    index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }
    manifests = [{ mediaType: image.root.mediaType, digest: image.root.digest, size: image.root.size, ...(platform ? { platform } : {}) }]
  }
  const bytes = encodeJson({ ...index, manifests: [...manifests, entry] })
  const root: Descriptor = { ...image.root, mediaType: MediaType.ociIndex, digest: sha256Digest(bytes), size: bytes.byteLength }
  const gone = new Set(dropped.map((d) => d.digest))
  const replaced = isIndexMediaType(image.root.mediaType) ? image.root.digest : undefined
  const documents = image.documents.filter((d) => !gone.has(d.descriptor.digest) && d.descriptor.digest !== replaced)
  const kept = [...documents, mp.config, mp.manifest]
  const rewritten = new Map(image.rewritten)
  for (const [old, next] of rewritten) if (next.digest === image.root.digest) rewritten.set(old, root)
  return {
    root,
    documents: [...kept, { kind: 'index', descriptor: root, bytes }],
    baseBlobs: image.baseBlobs.filter((b) => referenced(kept, b.digest) || !referencedBy(image.documents, gone, b.digest)),
    rewritten,
    dropped: [...image.dropped, ...dropped],
    images: [
      ...image.images.filter((i) => !gone.has(i.descriptor.digest)),
      { platform: ARTIFACT_PLATFORM, descriptor: mp.manifest.descriptor, layers: mp.layers, added: mp.layers.length },
    ],
  }
}

/** Whether an entry of the image's index is a ModelPack manifest (its document says so). */
function isModelPack(image: EditedImage, entry: Descriptor): boolean {
  const doc = image.documents.find((d) => d.descriptor.digest === entry.digest)
  if (!doc || doc.kind !== 'manifest') return false
  const m = JSON.parse(Buffer.from(doc.bytes).toString('utf8')) as Partial<ImageManifest>
  return m.artifactType === ModelPackMediaType.manifest || m.config?.mediaType === ModelPackMediaType.config
}

function childrenOf(doc: ImageDocument): string[] {
  if (doc.kind === 'config') return []
  const d = JSON.parse(Buffer.from(doc.bytes).toString('utf8')) as Partial<ImageManifest & ImageIndex>
  return [...(d.manifests ?? []), ...(d.config ? [d.config] : []), ...(d.layers ?? [])].map((c) => c.digest)
}

function referenced(documents: readonly ImageDocument[], digest: string): boolean {
  return documents.some((d) => childrenOf(d).includes(digest))
}

/** Whether one of the documents `gone` names refers to the blob (it was carried for them alone, then). */
function referencedBy(documents: readonly ImageDocument[], gone: ReadonlySet<string>, digest: string): boolean {
  return documents.some((d) => gone.has(d.descriptor.digest) && childrenOf(d).includes(digest))
}

/** The ModelPack manifest of an image a run made (the root itself, or an entry of its index); undefined when it has none. */
export function modelPackManifestOf(image: EditedImage): Descriptor | undefined {
  const doc = image.documents.find((d) => d.kind === 'manifest' && isModelPack(image, d.descriptor))
  return doc && { mediaType: doc.descriptor.mediaType, digest: doc.descriptor.digest, size: doc.descriptor.size }
}

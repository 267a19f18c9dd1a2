// Reading a base image: the graph of its documents (indexes, manifests, configs) from wherever
// its blobs are, the image a layout tag names, and the platforms of an image made from nothing.
// Layer blobs are not read here: they travel by reference to the sinks.
import { errors } from '../errors/index.js'
import type { BaseImage, BlobSource } from '../contract/base.js'
import { ImageLayout } from './image-layout.js'
import { Annotation, isIndexMediaType, isManifestMediaType } from '../oci/media-types.js'
import type { Descriptor, ImageIndex, ImageManifest, Platform } from '../oci/types.js'

export function parsePlatform(spec: string): Platform {
  const [os, architecture, variant] = spec.split('/')
  if (!os || !architecture)
    throw errors.argumentInvalid(`platform \`${spec}\` is not os/arch[/variant]`, 'e.g. `linux/amd64`, `linux/arm64/v8`')
  return variant ? { architecture, os, variant } : { architecture, os }
}

export function scratchBase(platforms: string[] = ['linux/amd64']): BaseImage {
  return { name: 'scratch', root: undefined, documents: new Map(), blobs: undefined, platforms: platforms.map(parsePlatform) }
}

export function layoutBlobSource(layout: ImageLayout): BlobSource {
  return {
    name: `oci-layout:${layout.root}`,
    readBlob: (desc) => layout.readBlob(desc),
    openBlob: (desc, start) => layout.openBlob(desc.digest, start),
  }
}

export function tagsOf(index: ImageIndex): string[] {
  return index.manifests.map((m) => m.annotations?.[Annotation.refName]).filter((t): t is string => !!t)
}

/** Picks the image a tag names in index.json; with no tag, the only image there is. */
export function selectRoot(layoutPath: string, index: ImageIndex, tag: string | undefined): Descriptor {
  if (tag !== undefined) {
    const hits = index.manifests.filter((m) => m.annotations?.[Annotation.refName] === tag)
    if (hits.length === 0) throw errors.layoutTagMissing(layoutPath, tag, tagsOf(index))
    if (hits.length > 1) throw errors.layoutInvalid(layoutPath, `tag \`${tag}\` names ${hits.length} entries in index.json`)
    return hits[0]!
  }
  // Tags of attachments (cosign's `sha256-<hex>.sig`, the referrers fallback `sha256-<hex>`) name no image to pick.
  const tagged = index.manifests.filter((m) => {
    const name = m.annotations?.[Annotation.refName]
    return name && !/^sha256-[0-9a-f]{64}(\.[a-z]+)?$/.test(name)
  })
  const candidates = tagged.length > 0 ? tagged : index.manifests
  // oras lists an index and also its platform manifests at the root: the index is the image.
  const indexes = candidates.filter((m) => isIndexMediaType(m.mediaType))
  const pick = candidates.length === 1 ? candidates[0] : indexes.length === 1 ? indexes[0] : undefined
  if (!pick) {
    throw errors.layoutInvalid(
      layoutPath,
      `it holds ${candidates.length} images and none was chosen`,
      `name one with a tag: ${
        tagsOf(index)
          .map((t) => `\`${t}\``)
          .join(', ') || 'PATH:TAG'
      }`,
    )
  }
  return pick
}

export async function loadLayoutBase(layoutPath: string, tag: string | undefined, name: string): Promise<BaseImage> {
  const layout = new ImageLayout(layoutPath)
  const index = await layout.readIndex()
  const root = selectRoot(layoutPath, index, tag)
  const blobs = layoutBlobSource(layout)
  const documents = await loadDocuments(blobs, root)
  return { name, root, documents, blobs, platforms: [] }
}

/** Reads every index, manifest and config under `root` (each once). */
export async function loadDocuments(blobs: BlobSource, root: Descriptor): Promise<Map<string, Uint8Array>> {
  const documents = new Map<string, Uint8Array>()
  const visit = async (desc: Descriptor): Promise<void> => {
    if (documents.has(desc.digest)) return
    if (isIndexMediaType(desc.mediaType)) {
      const bytes = await blobs.readBlob(desc)
      documents.set(desc.digest, bytes)
      const index = parseJson<ImageIndex>(bytes, desc, blobs.name)
      for (const child of index.manifests ?? []) await visit(child)
    } else if (isManifestMediaType(desc.mediaType)) {
      const bytes = await blobs.readBlob(desc)
      documents.set(desc.digest, bytes)
      const manifest = parseJson<ImageManifest>(bytes, desc, blobs.name)
      if (manifest.config && manifest.config.size < 4 << 20) {
        documents.set(manifest.config.digest, await blobs.readBlob(manifest.config))
      }
    }
    // Anything else (an artifact blob named directly in an index) is carried by reference.
  }
  await visit(root)
  return documents
}

export function parseJson<T>(bytes: Uint8Array, desc: Descriptor, where: string): T {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T
  } catch (err) {
    throw errors.layoutInvalid(where, `blob \`${desc.digest}\` (${desc.mediaType}) is not JSON`)
  }
}

/** The most layers any image manifest of the base has (they count against the layer limit). */
export function baseLayerCount(base: BaseImage): number {
  let most = 0
  for (const bytes of base.documents.values()) {
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ImageManifest>
    if (Array.isArray(doc.layers) && doc.config) most = Math.max(most, doc.layers.length)
  }
  return most
}

/** Every layer of every image manifest among `documents`, with its annotations (each digest once). */
export function layersOf(documents: ReadonlyMap<string, Uint8Array>): Descriptor[] {
  const out = new Map<string, Descriptor>()
  for (const bytes of documents.values()) {
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ImageManifest>
    if (Array.isArray(doc.layers) && doc.config) for (const l of doc.layers) if (!out.has(l.digest)) out.set(l.digest, l)
  }
  return [...out.values()]
}

// The model artifact a ref names: the manifest itself, or the one model manifest of an index (an
// index that holds runnable images beside a ModelPack manifest, as `image.formats: [modelcar,
// modelpack]` writes, gives its ModelPack part). Anything else is an input error that says what
// the ref names instead.
import { errors, isIndexMediaType, isManifestMediaType, type Descriptor, type ImageIndex, type ImageManifest } from '@modelcar/core'
import { artifactFormatOf, describeManifest, platformText } from '../artifact/artifact-format.js'
import type { ArtifactFormat } from '../artifact/model-media-types.js'
import { ociErrors } from '../errors/oci-errors.js'
import type { BlobStore } from '../store/blob-store.js'

export interface ModelManifest {
  descriptor: Descriptor
  manifest: ImageManifest
  format: ArtifactFormat
}

/** Indexes inside indexes are followed this deep (an index of indexes of manifests is as deep as anyone nests). */
const MAX_DEPTH = 3

export async function findModelManifest(store: BlobStore): Promise<ModelManifest> {
  const root = await store.root()
  if (isManifestMediaType(root.mediaType)) {
    const manifest = await readJson<ImageManifest>(store, root)
    const format = artifactFormatOf(manifest)
    if (format) return { descriptor: root, manifest, format }
    throw ociErrors.notAModel(store.name, describeManifest(manifest, await imagePlatform(store, manifest)))
  }
  if (!isIndexMediaType(root.mediaType)) throw ociErrors.notAModel(store.name, `a \`${root.mediaType || 'document without a media type'}\``)
  const found: ModelManifest[] = []
  const platforms: string[] = []
  await visitIndex(store, root, 0, found, platforms)
  if (found.length === 1) return found[0]!
  if (found.length > 1)
    throw ociErrors.manyModels(
      store.name,
      found.map((m) => m.descriptor.digest),
    )
  const what = platforms.length
    ? `an image index of ${[...new Set(platforms)].join(', ')} images`
    : 'an image index that holds no model artifact'
  throw ociErrors.notAModel(store.name, what)
}

async function visitIndex(store: BlobStore, desc: Descriptor, depth: number, found: ModelManifest[], platforms: string[]): Promise<void> {
  const index = await readJson<ImageIndex>(store, desc)
  for (const child of index.manifests ?? []) {
    if (isIndexMediaType(child.mediaType) && depth + 1 < MAX_DEPTH) await visitIndex(store, child, depth + 1, found, platforms)
    if (!isManifestMediaType(child.mediaType)) continue
    const manifest = await readJson<ImageManifest>(store, child)
    const format = artifactFormatOf(manifest)
    if (format) found.push({ descriptor: child, manifest, format })
    else {
      const platform = platformText(child.platform)
      if (platform && platform !== 'unknown/unknown') platforms.push(platform)
    }
  }
}

/** `linux/amd64` of a container image, from its config; undefined for anything else or a config that does not say. */
async function imagePlatform(store: BlobStore, manifest: ImageManifest): Promise<string | undefined> {
  if (!manifest.config || manifest.artifactType || !/image\.config|container\.image/.test(manifest.config.mediaType)) return undefined
  if (manifest.config.size > 1 << 20) return undefined
  return platformText(await readJson<Record<string, unknown>>(store, manifest.config).catch(() => undefined))
}

async function readJson<T>(store: BlobStore, desc: Descriptor): Promise<T> {
  const bytes = await store.readDocument(desc)
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T
  } catch {
    throw errors.imageUnsupported(`\`${store.name}\`: the document \`${desc.digest}\` (${desc.mediaType}) is not JSON`)
  }
}

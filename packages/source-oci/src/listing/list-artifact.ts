// A model artifact's files, metadata only: the model manifest the ref names, each layer by its
// media type (a raw layer is one file, a tar layer's members are files), every path from the
// artifact's annotations or the tar's own names, every size known before a byte of a file moves.
import { errors, isDigest, mapBounded, safeModelPath, type ComponentContext, type Descriptor, type ModelFile } from '@modelcar/core'
import { layerKindOf, type LayerKind } from '../artifact/model-media-types.js'
import { annotatedFilePath, annotatedMode, rawFilePath, type Ordinal } from '../artifact/raw-file-path.js'
import { ociErrors } from '../errors/oci-errors.js'
import { rawLayerFile, tarMemberFile, type FileFacts } from '../files/layer-files.js'
import type { VerifiedLayers } from '../files/tar-layer.js'
import type { BlobStore } from '../store/blob-store.js'
import { membersOf } from './member-paths.js'
import { findModelManifest, type ModelManifest } from './model-manifest.js'
import { listTarLayer } from './tar-listing.js'

export interface ListOptions {
  verified: VerifiedLayers
  ctx: ComponentContext
}

export interface ArtifactListing {
  model: ModelManifest
  /** Every file (its path in the artifact), each with the layer it came from. */
  files: { file: ModelFile; layer: number }[]
}

export async function listArtifact(store: BlobStore, opts: ListOptions): Promise<ArtifactListing> {
  const model = await findModelManifest(store)
  const layers = model.manifest.layers ?? []
  const kinds = layers.map((desc, i) => {
    // Layouts, registries and the checks here speak sha256 (as every registry does).
    if (!isDigest(desc.digest))
      throw errors.imageUnsupported(`layer ${i + 1} of \`${store.name}\` has the digest \`${desc.digest}\`; only sha256 is read`)
    return layerKindOf(model.format, desc.mediaType) ?? fail(ociErrors.layerUnknown(store.name, i, desc.mediaType))
  })
  const ordinals = unnamedOrdinals(layers, kinds)
  const origin = (path: string) => (store.repository ? `oci://${store.repository}@${model.descriptor.digest}/${path}` : undefined)
  const perLayer = await mapBounded(layers, opts.ctx.concurrency, async (desc, i): Promise<ModelFile[]> => {
    const kind = kinds[i]!
    if (kind.shape.archive === 'raw') {
      const path = rawFilePath(model.format, kind.kind, desc.annotations, ordinals[i]!)
      if (!path) throw ociErrors.layerUnnamed(store.name, i, desc.mediaType)
      const target = safeModelPath(path)
      return [rawLayerFile(store, desc, { path: target, mode: annotatedMode(desc.annotations), origin: origin(target) }, opts.ctx.signal)]
    }
    const label = `${desc.digest.slice(0, 19)}… (layer ${i + 1}, ${kind.kind}, tar${kind.shape.compression === 'none' ? '' : `+${kind.shape.compression}`})`
    const layer = await listTarLayer(store, { desc, compression: kind.shape.compression, label }, opts.verified, opts.ctx)
    return membersOf(layer.entries, annotatedFilePath(desc.annotations), (m) =>
      opts.ctx.logger.warn(`${store.name}, layer ${i + 1}: ${m}`),
    ).map(({ path, member, mode }) => {
      const target = safeModelPath(path)
      const facts: FileFacts = { path: target, mode, origin: origin(target) }
      return tarMemberFile({ store, layer, member, verified: opts.verified, signal: opts.ctx.signal }, facts)
    })
  })
  const files = perLayer.flatMap((list, layer) => list.map((file) => ({ file, layer })))
  refuseCollisions(store.name, layers, files)
  return { model, files }
}

function fail(err: Error): never {
  throw err
}

/** For each raw layer that names no file: its place among the unnamed layers of its kind (a Docker model's shards). */
function unnamedOrdinals(layers: readonly Descriptor[], kinds: readonly LayerKind[]): Ordinal[] {
  const counts = new Map<string, number>()
  const seen = new Map<string, number>()
  const unnamed = layers.map((desc, i) => kinds[i]!.shape.archive === 'raw' && !annotatedFilePath(desc.annotations))
  unnamed.forEach((u, i) => u && counts.set(kinds[i]!.kind, (counts.get(kinds[i]!.kind) ?? 0) + 1))
  return layers.map((_, i) => {
    const kind = kinds[i]!.kind
    if (!unnamed[i]) return { n: 1, of: 1 }
    const n = (seen.get(kind) ?? 0) + 1
    seen.set(kind, n)
    return { n, of: counts.get(kind)! }
  })
}

/** Two layers that give the same path: the artifact is ambiguous, say which layers. */
function refuseCollisions(name: string, layers: readonly Descriptor[], files: readonly { file: ModelFile; layer: number }[]): void {
  const first = new Map<string, number>()
  for (const { file, layer } of files) {
    const other = first.get(file.path)
    if (other !== undefined && other !== layer)
      throw errors.pathCollision(
        file.path,
        `layer ${other + 1} (\`${layers[other]!.digest}\`) of \`${name}\``,
        `layer ${layer + 1} (\`${layers[layer]!.digest}\`)`,
      )
    first.set(file.path, layer)
  }
}

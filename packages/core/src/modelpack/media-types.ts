// The names the CNCF ModelPack spec (modelpack/model-spec, `docs/spec.md`, `docs/annotations.md`)
// gives a model artifact: its artifact and config media types, a layer's media type by the kind of
// file it holds and how it is encoded, and the layer annotation keys.
import type { Compression } from '../contract/plan.js'

export const ModelPackMediaType = {
  /** The manifest's `artifactType`. */
  manifest: 'application/vnd.cncf.model.manifest.v1+json',
  config: 'application/vnd.cncf.model.config.v1+json',
} as const

export const ModelPackAnnotation = {
  /** The file's path (for a tar layer, the path of the one file it holds). */
  filepath: 'org.cncf.model.filepath',
  /** JSON: name, mode, uid, gid, size, mtime, typeflag of the file. */
  fileMetadata: 'org.cncf.model.file.metadata+json',
  /** `"true"` when the layer's kind was guessed, not recognised. */
  mediaTypeUntested: 'org.cncf.model.file.mediatype.untested',
} as const

/** What a layer holds, as the spec sorts files. */
export type LayerKind = 'weight' | 'weight.config' | 'doc' | 'code' | 'dataset'

export const LAYER_KINDS: readonly LayerKind[] = ['weight', 'weight.config', 'doc', 'code', 'dataset']

/** How a layer's blob holds its file: the file itself, or a tar of it (compressed or not). */
export type LayerEncoding = 'raw' | Compression

const SUFFIX: Record<LayerEncoding, string> = { raw: 'raw', none: 'tar', gzip: 'tar+gzip', zstd: 'tar+zstd' }

/** `application/vnd.cncf.model.weight.v1.tar`, `…doc.v1.tar+gzip`, `…weight.config.v1.raw`. */
export function layerMediaType(kind: LayerKind, encoding: LayerEncoding): string {
  return `application/vnd.cncf.model.${kind}.v1.${SUFFIX[encoding]}`
}

/** Whether a media type is one of the spec's layer types (any kind, any encoding). */
export function isModelPackLayerMediaType(mediaType: string): boolean {
  return /^application\/vnd\.cncf\.model\.(weight|weight\.config|doc|code|dataset)\.v1\.(raw|tar|tar\+gzip|tar\+zstd)$/.test(mediaType)
}

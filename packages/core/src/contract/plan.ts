// The plan: every file, where it goes in the image, how files are grouped into layers, and the
// metadata to write — all known before a model byte moves. Sources fill `files`; transforms
// reshape the plan; the engine groups the files into layers after the last transform.
import type { ModelFile } from './model-file.js'

export type Compression = 'none' | 'gzip' | 'zstd'

export interface PlannedFile {
  file: ModelFile
  /** Path under the image prefix, e.g. `tokenizer/vocab.json`. Transforms may change it; `file.path` is what the source listed. */
  target: string
  /** The `type` of the component that put the file in the plan (a source, or a transform that added it). */
  source: string
  /** The model card goes in a layer of its own, annotated for Open Data Hub. At most one file has it. */
  modelcard?: boolean
  /**
   * A group name: files with the same one share a layer, whatever the layering strategy says.
   * Unset: the strategy decides.
   */
  layer?: string
}

/** A model file as it was streamed: what a derived file is built from. */
export interface StreamedFile {
  target: string
  size: number
  /** `sha256:…` of the file's content, computed (or verified) while it streamed. */
  digest: string
  origin?: string
}

/**
 * A file made from the others once they have streamed (a `SHA256SUMS`, an index): the engine
 * hashes every model file as it streams anyway, so no transform has to wrap `open()` to see the
 * bytes. Derived files are written after the model files, each in a layer of its own.
 */
export interface DerivedFile {
  /** Path under the image prefix. */
  target: string
  /** The `type` of the transform that adds it (for messages). */
  source: string
  /** The content, from every model file in plan order (derived files excluded). */
  build(files: readonly StreamedFile[]): Uint8Array | string | Promise<Uint8Array | string>
}

export interface PlannedLayer {
  files: PlannedFile[]
  annotations: Record<string, string>
  compression: Compression
  modelcard?: boolean
  /**
   * The one file's bytes are the blob, not a tar of them (a ModelPack `raw` layer, with
   * `image.modelpack.layers: raw`): its digest is the file's sha256. Set by the engine.
   */
  raw?: boolean
}

export type LayerStrategy = 'per-file' | 'grouped'

export interface LayeringOptions {
  strategy: LayerStrategy
  /** With `grouped`: files smaller than this share a layer. */
  groupBelowBytes: number
  /** Most layers the whole image may have, base included (overlayfs mounts at most 128). */
  maxLayers: number
}

export interface Plan {
  /** Folder in the image the model goes to, without slashes around it: `models`. */
  prefix: string
  /** The model files, in the order sources listed them. */
  files: PlannedFile[]
  /** Files built from the model files after they streamed, each in a layer after theirs. */
  derived: DerivedFile[]
  layering: LayeringOptions
  compression: Compression
  modelcardCompression: Compression
  /** Annotations of every image manifest. */
  annotations: Record<string, string>
  /** Labels in every image config. */
  labels: Record<string, string>
  /** Layers the base already has, per platform (the most of them): counts against maxLayers. */
  baseLayers: number
}

export const DEFAULT_MAX_LAYERS = 127

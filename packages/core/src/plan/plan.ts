// The plan: every file, where it goes in the image, how files are grouped into layers, and the
// metadata to write — all known before a model byte moves.
import type { ModelFile } from '../components/model-file.js'
import type { Compression } from '../layer/layer-encoder.js'

export interface PlannedFile {
  file: ModelFile
  /** Path under the image prefix, e.g. `tokenizer/vocab.json`. */
  target: string
  /** The `type` of the source that listed it. */
  source: string
  /** The model card goes in a layer of its own, annotated for Open Data Hub. */
  modelcard?: boolean
}

export interface PlannedLayer {
  files: PlannedFile[]
  annotations: Record<string, string>
  compression: Compression
  modelcard?: boolean
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
  files: PlannedFile[]
  layering: LayeringOptions
  /** Set by planLayers() once the transforms ran, or by a transform that groups files itself. */
  layers?: PlannedLayer[]
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

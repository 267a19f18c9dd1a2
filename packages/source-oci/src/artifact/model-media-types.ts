// The media types and annotations of the model artifacts this source reads, written from their
// specifications: CNCF ModelPack (modelpack/model-spec `docs/spec.md`, `docs/annotations.md`; the
// `cnai` spelling is what the spec and modctl used before 2025-07), Docker Model Runner
// (`application/vnd.docker.ai.*`) and KitOps ModelKits (`application/vnd.kitops.modelkit.*`).

export type ArtifactFormat = 'modelpack' | 'docker-model' | 'modelkit'

export const ModelPack = {
  manifest: ['application/vnd.cncf.model.manifest.v1+json', 'application/vnd.cnai.model.manifest.v1+json'],
  config: ['application/vnd.cncf.model.config.v1+json', 'application/vnd.cnai.model.config.v1+json'],
  /** `application/vnd.cncf.model.<kind>.v1.<raw|tar>[+gzip|+zstd]`, kind e.g. `weight`, `weight.config`, `doc`, `code`, `dataset`. */
  layer: /^application\/vnd\.(?:cncf|cnai)\.model\.([a-z][a-z0-9.]*)\.v1\.(raw|tar)(?:\+(gzip|zstd))?$/,
} as const

export const DockerModel = {
  /** `application/vnd.docker.ai.model.config.v0.1+json`, `…v0.2+json`. */
  configPrefix: 'application/vnd.docker.ai.model.config.',
  /** Every layer: one file as it is (`gguf.v3`, `safetensors`, `license`, …), or a tar of several (`dir.tar`, `vllm.config.tar`). */
  layer: /^application\/vnd\.docker\.ai\.([a-z0-9.+-]+)$/,
} as const

export const ModelKit = {
  manifest: 'application/vnd.kitops.modelkit.manifest.v1+json',
  config: 'application/vnd.kitops.modelkit.config.v1+json',
  /** `application/vnd.kitops.modelkit.<model|modelpart|dataset|code|docs|…>.v1.tar[+gzip|+zstd]`. */
  layer: /^application\/vnd\.kitops\.modelkit\.([a-z]+)\.v1\.tar(?:\+(gzip|zstd))?$/,
} as const

export const ModelAnnotation = {
  /** The file's path in the model (both spellings; Docker model artifacts use the `cncf` one). */
  filepath: ['org.cncf.model.filepath', 'org.cnai.model.filepath'],
  /** JSON: name, mode, uid, gid, size, mtime, typeflag of the file the layer holds. */
  fileMetadata: ['org.cncf.model.file.metadata+json', 'org.cnai.model.file.metadata+json'],
  title: 'org.opencontainers.image.title',
} as const

export type Compression = 'none' | 'gzip' | 'zstd'

/** How a layer holds its files. */
export type LayerShape = { archive: 'raw' } | { archive: 'tar'; compression: Compression }

/** What a layer of a model artifact is: its shape, and its kind (`weight`, `gguf.v3`, `docs`) for names and messages. */
export interface LayerKind {
  shape: LayerShape
  kind: string
}

/** The shape and kind of a layer by its media type in an artifact of `format`; undefined when unknown. */
export function layerKindOf(format: ArtifactFormat, mediaType: string): LayerKind | undefined {
  if (format === 'modelpack' || format === 'modelkit') {
    // A KitOps ModelKit written with `--use-model-pack` carries ModelPack layers (and vice versa is harmless).
    const mp = ModelPack.layer.exec(mediaType)
    if (mp)
      return {
        kind: mp[1]!,
        shape: mp[2] === 'raw' ? { archive: 'raw' } : { archive: 'tar', compression: (mp[3] as Compression | undefined) ?? 'none' },
      }
    const kit = ModelKit.layer.exec(mediaType)
    if (kit) return { kind: kit[1]!, shape: { archive: 'tar', compression: (kit[2] as Compression | undefined) ?? 'none' } }
    return undefined
  }
  const docker = DockerModel.layer.exec(mediaType)
  if (!docker) return undefined
  const tar = /\.tar(?:\+(gzip|zstd))?$/.exec(docker[1]!)
  return {
    kind: docker[1]!.replace(/\.tar(?:\+(?:gzip|zstd))?$/, ''),
    shape: tar ? { archive: 'tar', compression: (tar[1] as Compression | undefined) ?? 'none' } : { archive: 'raw' },
  }
}

/** The first of `keys` an annotation map has. */
export function annotationOf(annotations: Readonly<Record<string, string>> | undefined, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = annotations?.[k]
    if (v !== undefined && v !== '') return v
  }
  return undefined
}

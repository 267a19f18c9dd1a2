// Types for build-model-artifacts.mjs, which stays plain JavaScript so it runs before any build.

/** A file of a model: its path in the model, its bytes, its mode (0644, or 0755 for an executable). */
export interface ArtifactFile {
  path: string
  bytes: Buffer
  mode: number
}

/** An artifact written into an OCI image layout, tagged, with the files a reader must find in it. */
export interface BuiltArtifact {
  /** Absolute path of the layout. */
  layout: string
  tag: string
  /** `oci-layout:LAYOUT:TAG`, as source `oci` takes it. */
  ref: string
  manifestDigest: string
  /** The manifest as written. */
  manifest: {
    artifactType?: string
    config: { mediaType: string; digest: string; size: number }
    layers: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[]
  }
  files: ArtifactFile[]
}

export declare const LONG_PATH: string
export declare const NON_ASCII_NAME: string

/** Bytes that look random and are the same for the same seed. */
export declare function seededBytes(seed: string, size: number): Buffer

/** A small model's files, with nested folders, an executable, a non-ASCII name, a long path and an empty file. */
export declare function modelFiles(opts?: { weightBytes?: number; seed?: string }): ArtifactFile[]

export interface ModelPackOptions {
  /** `cncf` (default) or the older `cnai` media types and annotations. */
  spelling?: 'cncf' | 'cnai'
  /** `tar` (default): one tar per file, the tokenizer folder as one; `raw`: every file as it is (cncf only). */
  layers?: 'raw' | 'tar'
  compression?: 'none' | 'gzip' | 'zstd'
  /** Weights as `application/vnd.cnai.model.layer.v1.tar`, the first drafts' type. */
  oldestTypes?: boolean
  tag?: string
}

export declare function buildModelPack(dir: string, files: ArtifactFile[], opts?: ModelPackOptions): Promise<BuiltArtifact>

/** A Docker model artifact: annotated (config v0.2, safetensors + vllm.config.tar) or not (v0.1, GGUF shards + license). */
export declare function buildDockerModel(
  dir: string,
  opts?: { annotated?: boolean; weightBytes?: number; tag?: string },
): Promise<BuiltArtifact>

/** A KitOps ModelKit: model folder (GNU tar, a long name, a symbolic link), code (tar+gzip), docs. */
export declare function buildModelKit(dir: string, opts?: { weightBytes?: number; tag?: string }): Promise<BuiltArtifact>

/** `skopeo copy --preserve-digests oci:LAYOUT:TAG docker://HOST:PORT/REPO:TAG` to a loopback registry. */
export declare function pushLayout(layoutRef: string, dest: string): Promise<void>

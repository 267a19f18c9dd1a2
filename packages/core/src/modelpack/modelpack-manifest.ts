// The ModelPack manifest: an OCI image manifest with `artifactType`
// `application/vnd.cncf.model.manifest.v1+json`, the model config, and one layer per layer of the
// run: the very blobs the Modelcar has (tar) or each file itself (raw), typed by the kind of file
// they hold and by encoding, with the spec's layer annotations.
import { encodeJson, sha256Digest } from '../oci/digest.js'
import { MediaType } from '../oci/media-types.js'
import type { Descriptor, ImageManifest } from '../oci/types.js'
import type { Compression } from '../contract/plan.js'
import type { ImageDocument } from '../contract/image.js'
import { layerKindOf } from './file-kinds.js'
import { layerMediaType, ModelPackAnnotation, ModelPackMediaType } from './media-types.js'

export interface ArtifactLayer {
  /** The blob as the run wrote it (digest, size, and the annotations saying what it was made from). */
  descriptor: Pick<Descriptor, 'digest' | 'size' | 'annotations'>
  diffId: string
  /** The files in it: path under the model root, size, executable. */
  files: readonly { target: string; size: number; executable: boolean }[]
  compression: Compression
  /** The file itself, not a tar of it. */
  raw: boolean
}

export interface ModelPackDocuments {
  manifest: ImageDocument
  config: ImageDocument
  layers: Descriptor[]
}

export interface ArtifactInputs {
  layers: readonly ArtifactLayer[]
  /** The config document (see modelPackConfig). */
  config: unknown
  /** The manifest's annotations. */
  annotations: Record<string, string>
  /** SOURCE_DATE_EPOCH (seconds), the files' mtime. */
  mtime: number
  /**
   * Keep the annotations saying what each layer was made from (`modelcar.*`, the title): when the
   * artifact is all there is, a later run finds its layers by them. Beside a Modelcar, whose layers
   * say it already, the artifact's copies carry the spec's annotations only.
   */
  keepLayerFacts: boolean
}

export function modelPackDocuments(inputs: ArtifactInputs): ModelPackDocuments {
  const configBytes = encodeJson(inputs.config)
  const configDesc: Descriptor = { mediaType: ModelPackMediaType.config, digest: sha256Digest(configBytes), size: configBytes.byteLength }
  const layers = inputs.layers.map((l) => artifactLayer(l, inputs.mtime, inputs.keepLayerFacts))
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: ModelPackMediaType.manifest,
    config: configDesc,
    layers,
  }
  if (Object.keys(inputs.annotations).length) manifest.annotations = inputs.annotations
  const bytes = encodeJson(manifest)
  return {
    manifest: {
      kind: 'manifest',
      descriptor: { mediaType: MediaType.ociManifest, digest: sha256Digest(bytes), size: bytes.byteLength },
      bytes,
    },
    config: { kind: 'config', descriptor: configDesc, bytes: configBytes },
    layers,
  }
}

function artifactLayer(layer: ArtifactLayer, mtime: number, keepFacts: boolean): Descriptor {
  const { kind, tested } = layerKindOf(layer.files.map((f) => f.target))
  const annotations: Record<string, string> = keepFacts ? { ...layer.descriptor.annotations } : {}
  const only = layer.files.length === 1 ? layer.files[0]! : undefined
  if (only) {
    annotations[ModelPackAnnotation.filepath] = only.target
    annotations[ModelPackAnnotation.fileMetadata] = fileMetadata(only, mtime)
  }
  annotations[ModelPackAnnotation.mediaTypeUntested] = String(!tested)
  return {
    mediaType: layerMediaType(kind, layer.raw ? 'raw' : layer.compression),
    digest: layer.descriptor.digest,
    size: layer.descriptor.size,
    annotations,
  }
}

/** The spec's File Metadata (its Go struct's JSON): the file as the tar holds it, or as a raw layer is to be written. */
function fileMetadata(file: ArtifactLayer['files'][number], mtime: number): string {
  return JSON.stringify({
    name: file.target.split('/').pop(),
    mode: file.executable ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: file.size,
    // Go's time.Time in JSON: RFC 3339, no fraction for a whole second.
    mtime: new Date(mtime * 1000).toISOString().replace('.000Z', 'Z'),
    // tar's typeflag of a regular file, '0'.
    typeflag: 48,
  })
}

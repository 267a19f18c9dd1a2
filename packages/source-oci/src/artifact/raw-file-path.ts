// The path of the one file a raw layer holds: its `org.cncf.model.filepath` annotation (or the
// `cnai` spelling, or `org.opencontainers.image.title`); for a Docker model artifact written
// before layers were annotated, the names Docker Model Runner gives them when it unpacks one
// (`model.gguf`, `model-00001-of-00003.gguf`, `model.mmproj`, `template.jinja`).
import { annotationOf, ModelAnnotation, type ArtifactFormat } from './model-media-types.js'

/** This layer is the `n`-th (from 1) of `of` unannotated layers of its kind. */
export interface Ordinal {
  n: number
  of: number
}

export function annotatedFilePath(annotations: Readonly<Record<string, string>> | undefined): string | undefined {
  return annotationOf(annotations, [...ModelAnnotation.filepath, ModelAnnotation.title])
}

export function rawFilePath(
  format: ArtifactFormat,
  kind: string,
  annotations: Record<string, string> | undefined,
  ordinal: Ordinal,
): string | undefined {
  const annotated = annotatedFilePath(annotations)
  if (annotated) return annotated
  if (format !== 'docker-model') return undefined
  const shard = (ext: string) =>
    ordinal.of === 1 ? `model.${ext}` : `model-${String(ordinal.n).padStart(5, '0')}-of-${String(ordinal.of).padStart(5, '0')}.${ext}`
  if (kind.startsWith('gguf')) return shard('gguf')
  if (kind === 'safetensors') return shard('safetensors')
  if (kind === 'dduf') return shard('dduf')
  if (kind === 'mmproj') return 'model.mmproj'
  if (kind.startsWith('chat.template')) return 'template.jinja'
  if (kind === 'license') return ordinal.of === 1 ? 'LICENSE' : `LICENSE-${ordinal.n}`
  return undefined
}

/** The file mode a layer's file metadata annotation gives, if any. */
export function annotatedMode(annotations: Readonly<Record<string, string>> | undefined): number | undefined {
  const text = annotationOf(annotations, ModelAnnotation.fileMetadata)
  if (!text) return undefined
  try {
    const mode = (JSON.parse(text) as { mode?: unknown }).mode
    return typeof mode === 'number' && Number.isInteger(mode) && mode >= 0 ? mode & 0o7777 : undefined
  } catch {
    return undefined
  }
}

// What a layer is made from, in a form a later run can compare: the encoding (compression,
// mtime, prefix, encoder version) and, per file, its path, size, mode and what names its content
// (digest, portable identity, local fingerprint). These facts go into the layer's annotations
// (all but the fingerprint) and into the local record, and a planned layer whose facts match a
// recorded one is the same bytes.
import { createHash } from 'node:crypto'
import type { PlannedLayer } from '../contract/plan.js'
import { ENCODER_VERSION } from '../layer/layer-encoder.js'
import { Annotation } from '../oci/media-types.js'

export interface FileFacts {
  /** Path under the prefix. */
  target: string
  size: number
  executable: boolean
  /** `sha256:…` of the content, when known. */
  digest?: string
  identity?: string
  fingerprint?: string
}

/**
 * The encoding as one deterministic string: `tar;compression=none;mtime=0;prefix=/models;encoder=1`,
 * or `raw;encoder=1` for a raw layer (the file's bytes: no compression, mtime or prefix in them).
 */
export function encodingOf(layer: Pick<PlannedLayer, 'compression' | 'raw'>, prefix: string, mtime: number): string {
  if (layer.raw) return `raw;encoder=${ENCODER_VERSION}`
  return `tar;compression=${layer.compression};mtime=${mtime};prefix=/${prefix};encoder=${ENCODER_VERSION}`
}

export function factsOf(layer: PlannedLayer, digests?: ReadonlyMap<string, string>): FileFacts[] {
  return layer.files.map(({ target, file }) => {
    const digest = file.digest ?? digests?.get(target)
    return {
      target,
      size: file.size,
      executable: ((file.mode ?? 0) & 0o111) !== 0,
      ...(digest ? { digest } : {}),
      ...(file.identity ? { identity: file.identity } : {}),
      ...(file.fingerprint ? { fingerprint: file.fingerprint } : {}),
    }
  })
}

const KINDS = ['digest', 'identity', 'fingerprint'] as const

/** The keys a layer can be found under: one per kind of content name that every file of it has. */
export function layerKeys(encoding: string, files: readonly FileFacts[]): string[] {
  const keys: string[] = []
  for (const kind of KINDS) {
    if (files.length === 0 || !files.every((f) => f[kind])) continue
    const text = JSON.stringify([encoding, files.map((f) => [f.target, f.size, f.executable ? 1 : 0, f[kind]])])
    keys.push(`${kind}:${createHash('sha256').update(text).digest('hex')}`)
  }
  return keys
}

/** The annotations of a written layer: the plan's, the encoding, and for one file what it was made from. */
export function layerAnnotations(
  layer: PlannedLayer,
  encoding: string,
  encoded: { digest: string; diffId: string },
  digests?: ReadonlyMap<string, string>,
): Record<string, string> {
  const out: Record<string, string> = { ...layer.annotations, [Annotation.layerEncoding]: encoding }
  if (encoded.diffId !== encoded.digest) out[Annotation.layerDiffId] = encoded.diffId
  if (layer.files.length !== 1) return out
  const [facts] = factsOf(layer, digests)
  out[Annotation.fileSize] = String(facts!.size)
  out[Annotation.fileMode] = facts!.executable ? '0755' : '0644'
  if (facts!.identity) out[Annotation.contentId] = facts!.identity
  if (facts!.digest) {
    out[Annotation.contentDigest] = facts!.digest
    out[Annotation.olotContentDigest] = facts!.digest
  }
  out[Annotation.olotContentName] = facts!.target.split('/').pop()!
  return out
}

/** What a layer of an existing image was made from, read back from its annotations; undefined when they do not say. */
export function heldFacts(
  annotations: Readonly<Record<string, string>> | undefined,
): { encoding: string; diffId?: string; file: FileFacts } | undefined {
  const a = annotations ?? {}
  const encoding = a[Annotation.layerEncoding]
  const target = a[Annotation.title]
  const size = Number(a[Annotation.fileSize])
  const mode = a[Annotation.fileMode]
  if (!encoding || !target || !Number.isSafeInteger(size) || (mode !== '0644' && mode !== '0755')) return undefined
  const file: FileFacts = { target, size, executable: mode === '0755' }
  if (a[Annotation.contentDigest]) file.digest = a[Annotation.contentDigest]
  if (a[Annotation.contentId]) file.identity = a[Annotation.contentId]
  return { encoding, ...(a[Annotation.layerDiffId] ? { diffId: a[Annotation.layerDiffId] } : {}), file }
}

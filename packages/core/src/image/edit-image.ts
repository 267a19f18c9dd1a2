// Puts the same new layers on every platform of a base image. Walks the base's graph (nested
// indexes included), converts Docker media types to OCI, keeps every field it does not own, keeps
// `rootfs.diff_ids` and `history` in step, and drops what would describe an image that no longer
// exists (attestations and referrers of a rewritten manifest).
import { encodeJson, sha256Digest } from '../oci/digest.js'
import type { BaseImage } from '../contract/base.js'
import type { DocumentKind, EditedImage, ImageDocument, PlatformImage } from '../contract/image.js'
import { parseJson } from './base-image.js'
import { Annotation, MediaType, isIndexMediaType, isManifestMediaType, toOciMediaType } from '../oci/media-types.js'
import type { Descriptor, HistoryEntry, ImageConfig, ImageIndex, ImageManifest, Platform } from '../oci/types.js'

export interface NewLayer {
  descriptor: Descriptor
  diffId: string
  history: HistoryEntry
}

export interface ImageEdit {
  layers: NewLayer[]
  /** Merged into every image manifest's annotations (ours win). */
  manifestAnnotations: Record<string, string>
  /** Merged into every image config's `config.Labels`. */
  labels: Record<string, string>
  /** RFC 3339 time for new documents of a scratch image (SOURCE_DATE_EPOCH); omitted when undefined. */
  created?: string
}

const BASE_DIGEST = 'org.opencontainers.image.base.digest'
const BASE_NAME = 'org.opencontainers.image.base.name'

export async function editImage(base: BaseImage, edit: ImageEdit): Promise<EditedImage> {
  const out = new EditorState(base, edit)
  const root = base.root ? await out.visit(base.root) : out.scratch()
  if (!root) throw new Error('the base image root was dropped') // cannot happen: only referrers are dropped
  const { [Annotation.refName]: _tag, ...rootAnnotations } = root.annotations ?? {}
  const cleanRoot: Descriptor = { ...root }
  if (Object.keys(rootAnnotations).length) cleanRoot.annotations = rootAnnotations
  else delete cleanRoot.annotations
  return {
    root: cleanRoot,
    documents: out.documents,
    baseBlobs: [...out.baseBlobs.values()],
    rewritten: out.rewritten,
    dropped: out.dropped,
    images: out.images,
  }
}

class EditorState {
  readonly documents: ImageDocument[] = []
  readonly baseBlobs = new Map<string, Descriptor>()
  readonly rewritten = new Map<string, Descriptor>()
  readonly dropped: Descriptor[] = []
  readonly images: PlatformImage[] = []
  private readonly memo = new Map<string, Promise<Descriptor | undefined>>()
  private readonly emitted = new Set<string>()

  constructor(
    private readonly base: BaseImage,
    private readonly edit: ImageEdit,
  ) {}

  private emit(kind: DocumentKind, descriptor: Descriptor, bytes: Uint8Array): void {
    if (this.emitted.has(descriptor.digest)) return
    this.emitted.add(descriptor.digest)
    this.documents.push({ kind, descriptor, bytes })
  }

  private doc<T>(desc: Descriptor): { bytes: Uint8Array; json: T } {
    const bytes = this.base.documents.get(desc.digest)
    if (!bytes) throw new Error(`document ${desc.digest} was not loaded`)
    return { bytes, json: parseJson<T>(bytes, desc, this.base.name) }
  }

  visit(desc: Descriptor): Promise<Descriptor | undefined> {
    let p = this.memo.get(desc.digest)
    if (!p) {
      p = this.visitOnce(desc)
      this.memo.set(desc.digest, p)
    }
    return p
  }

  private async visitOnce(desc: Descriptor): Promise<Descriptor | undefined> {
    if (isIndexMediaType(desc.mediaType)) return this.visitIndex(desc)
    if (isManifestMediaType(desc.mediaType)) {
      const { bytes, json } = this.doc<ImageManifest>(desc)
      if (isRunnableImage(json)) return this.editManifest(desc, json)
      return this.keepArtifact(desc, json, bytes)
    }
    this.baseBlobs.set(desc.digest, desc)
    return desc
  }

  private async visitIndex(desc: Descriptor): Promise<Descriptor> {
    const { json: index } = this.doc<ImageIndex>(desc)
    const children = index.manifests ?? []
    // Images and nested indexes first: attestations and referrers point at them.
    const results = new Map<Descriptor, Descriptor | undefined>()
    for (const child of children) if (!isDependent(child, this.doc.bind(this))) results.set(child, await this.visit(child))
    for (const child of children) {
      if (results.has(child)) continue
      const target = referencedDigest(child, this.doc.bind(this))
      if (target && this.rewritten.has(target)) {
        this.dropped.push(child)
        results.set(child, undefined)
      } else results.set(child, await this.visit(child))
    }
    const manifests: Descriptor[] = []
    for (const child of children) {
      const next = results.get(child)
      if (next) manifests.push({ ...child, mediaType: toOciMediaType(child.mediaType), digest: next.digest, size: next.size })
    }
    const edited: ImageIndex = { ...index, schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }
    return this.finish('index', desc, edited, MediaType.ociIndex)
  }

  private finish(kind: DocumentKind, desc: Descriptor, doc: unknown, mediaType: string): Descriptor {
    const bytes = encodeJson(doc)
    const next: Descriptor = { ...desc, mediaType, digest: sha256Digest(bytes), size: bytes.byteLength }
    this.emit(kind, next, bytes)
    if (next.digest !== desc.digest) this.rewritten.set(desc.digest, next)
    return next
  }

  private keepArtifact(desc: Descriptor, manifest: ImageManifest, bytes: Uint8Array): Descriptor {
    this.emit('manifest', desc, bytes)
    if (manifest.config) this.baseBlobs.set(manifest.config.digest, manifest.config)
    for (const l of manifest.layers ?? []) this.baseBlobs.set(l.digest, l)
    return desc
  }

  private editManifest(desc: Descriptor, manifest: ImageManifest): Descriptor {
    const { json: config } = this.doc<ImageConfig>(manifest.config)
    const layers = manifest.layers.map((l) => ({ ...l, mediaType: toOciMediaType(l.mediaType) }))
    for (const l of layers) this.baseBlobs.set(l.digest, l)
    const annotations: Record<string, string> = { ...(manifest.annotations ?? {}) }
    if (!annotations[BASE_DIGEST]) {
      annotations[BASE_DIGEST] = desc.digest
      if (this.base.registry) annotations[BASE_NAME] = this.base.registry.reference
    }
    return this.build(desc, manifest, config, layers, annotations, desc.platform ?? platformOf(config))
  }

  /** One config and manifest per platform, on nothing. */
  scratch(): Descriptor {
    const platforms = this.base.platforms
    const manifests = platforms.map((platform) => {
      const config: ImageConfig = {
        ...(this.edit.created ? { created: this.edit.created } : {}),
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: {},
        rootfs: { type: 'layers', diff_ids: [] },
        history: [],
      }
      const manifest: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: '', size: 0 },
        layers: [],
      }
      const desc: Descriptor = { mediaType: MediaType.ociManifest, digest: '', size: 0, platform }
      return this.build(desc, manifest, config, [], {}, platform)
    })
    if (manifests.length === 1) {
      const { platform: _p, ...only } = manifests[0]!
      return only
    }
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }
    const bytes = encodeJson(index)
    const desc: Descriptor = { mediaType: MediaType.ociIndex, digest: sha256Digest(bytes), size: bytes.byteLength }
    this.emit('index', desc, bytes)
    return desc
  }

  private build(
    desc: Descriptor,
    manifest: ImageManifest,
    config: ImageConfig,
    layers: Descriptor[],
    annotations: Record<string, string>,
    platform: Platform | undefined,
  ): Descriptor {
    const present = new Set(layers.map((l) => l.digest))
    const added = this.edit.layers.filter((l) => !present.has(l.descriptor.digest))
    const nextConfig: ImageConfig = { ...config }
    if (added.length) {
      const rootfs = config.rootfs ?? { type: 'layers', diff_ids: [] }
      nextConfig.rootfs = { ...rootfs, diff_ids: [...(rootfs.diff_ids ?? []), ...added.map((l) => l.diffId)] }
      // A base without history keeps none: a partial history would disagree with the layers.
      if (Array.isArray(config.history)) nextConfig.history = [...config.history, ...added.map((l) => l.history)]
    }
    if (Object.keys(this.edit.labels).length) {
      const inner = config.config ?? {}
      nextConfig.config = { ...inner, Labels: { ...(inner.Labels ?? {}), ...this.edit.labels } }
    }
    const configBytes = encodeJson(nextConfig)
    const configDesc: Descriptor = {
      ...manifest.config,
      mediaType: toOciMediaType(manifest.config.mediaType),
      digest: sha256Digest(configBytes),
      size: configBytes.byteLength,
    }
    this.emit('config', configDesc, configBytes)
    const allLayers = [...layers, ...added.map((l) => l.descriptor)]
    const merged = { ...annotations, ...this.edit.manifestAnnotations }
    const next: ImageManifest = { ...manifest, schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: allLayers }
    if (Object.keys(merged).length) next.annotations = merged
    const result = this.finish('manifest', desc, next, MediaType.ociManifest)
    this.images.push({ platform, descriptor: result, layers: allLayers, added: added.length })
    return result
  }
}

function platformOf(config: ImageConfig): Platform | undefined {
  if (!config.architecture || !config.os) return undefined
  return { architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) }
}

const IMAGE_CONFIG_TYPES = new Set<string>([MediaType.ociConfig, MediaType.dockerConfig])

/** An image a runtime can run: an image config, and not a build attestation. */
function isRunnableImage(m: ImageManifest): boolean {
  if (!m.config || !IMAGE_CONFIG_TYPES.has(m.config.mediaType)) return false
  if (m.artifactType === MediaType.dockerAttestationManifest) return false
  if (m.layers?.[0]?.mediaType === MediaType.inToto) return false
  return true
}

/** The manifest an index entry is about: a Docker attestation's reference, or a referrer's subject. */
function referencedDigest(child: Descriptor, doc: <T>(d: Descriptor) => { json: T }): string | undefined {
  const ref = child.annotations?.[Annotation.dockerReferenceDigest]
  if (ref) return ref
  if (isManifestMediaType(child.mediaType)) {
    try {
      return doc<ImageManifest>(child).json.subject?.digest
    } catch {
      return undefined
    }
  }
  return undefined
}

function isDependent(child: Descriptor, doc: <T>(d: Descriptor) => { json: T }): boolean {
  return referencedDigest(child, doc) !== undefined
}

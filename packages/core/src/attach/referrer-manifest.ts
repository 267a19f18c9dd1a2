// An attachment as an OCI 1.1 artifact: a manifest with `artifactType`, the empty config, its
// document as the one layer, and the image as its `subject`. Its `dev.modelcar.attachment`
// annotation names what it holds and who signed it, so a sink that finds a referrer with the same
// value does not add another (a signature differs on every run; what it says does not).
import { createHash } from 'node:crypto'
import type { AttachmentBlob, ReferrerAttachment } from '../contract/attachment.js'
import { encodeJson, sha256Digest } from '../oci/digest.js'
import { CosignAnnotation } from '../sign/cosign-signature.js'
import { MediaType } from '../oci/media-types.js'
import type { Descriptor, ImageManifest } from '../oci/types.js'

export const ATTACHMENT_KEY = 'dev.modelcar.attachment'

const EMPTY = Buffer.from('{}')

export interface ReferrerSpec {
  what: string
  artifactType: string
  subject: Descriptor
  layer: { mediaType: string; bytes: Uint8Array; annotations?: Record<string, string> }
  /** What the document says before any signature (its statement, its SBOM), and the signer if any: the attachment's key. */
  content: Uint8Array
  signer?: string
  annotations?: Record<string, string>
}

export function referrerAttachment(s: ReferrerSpec): ReferrerAttachment {
  const empty = blob(MediaType.ociEmpty, EMPTY)
  const layer = blob(s.layer.mediaType, s.layer.bytes, s.layer.annotations)
  const key = createHash('sha256')
    .update(JSON.stringify([s.artifactType, sha256Digest(s.content), s.signer ?? '']))
    .digest('hex')
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: s.artifactType,
    config: empty.descriptor,
    layers: [layer.descriptor],
    subject: { mediaType: s.subject.mediaType, digest: s.subject.digest, size: s.subject.size },
    annotations: {
      ...s.annotations,
      [ATTACHMENT_KEY]: `${s.what};sha256:${key}`,
      // Who signed it (a key's sha256, a keyless identity): `modelcar verify` tells another signer's statement from a tampered one.
      ...(s.signer ? { [CosignAnnotation.signer]: s.signer } : {}),
    },
  }
  return {
    kind: 'referrer',
    what: s.what,
    artifactType: s.artifactType,
    subject: manifest.subject!,
    manifest: blob(MediaType.ociManifest, encodeJson(manifest)),
    blobs: [empty, layer],
  }
}

function blob(mediaType: string, bytes: Uint8Array, annotations?: Record<string, string>): AttachmentBlob {
  return { descriptor: { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength, ...(annotations ? { annotations } : {}) }, bytes }
}

/** The entry of a referrers index (API answer, fallback tag, layout index.json) for `a`: artifactType and annotations copied. */
export function referrerEntry(a: ReferrerAttachment): Descriptor {
  const manifest = JSON.parse(Buffer.from(a.manifest.bytes).toString('utf8')) as ImageManifest
  return {
    mediaType: a.manifest.descriptor.mediaType,
    digest: a.manifest.descriptor.digest,
    size: a.manifest.descriptor.size,
    artifactType: a.artifactType,
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  }
}

/** Whether `held` (referrers of the same subject) has `a` already: the same manifest, or one with its key. */
export function holdsReferrer(held: readonly Descriptor[], a: ReferrerAttachment): boolean {
  const key = referrerEntry(a).annotations?.[ATTACHMENT_KEY]
  return held.some((d) => d.digest === a.manifest.descriptor.digest || (key !== undefined && d.annotations?.[ATTACHMENT_KEY] === key))
}

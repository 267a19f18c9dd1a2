// What a run attaches to the image it made (an SBOM, provenance, signatures), as sinks receive it
// in attach(), and how an image with its attachments is read back (`modelcar verify`, `inspect`).
// Attachments are documents about the image, found from its digest: OCI 1.1 referrers (a
// manifest whose `subject` is the image) and cosign's signature tag `sha256-<hex>.sig`.
import type { Descriptor } from '../oci/types.js'

/** A blob with its exact bytes. */
export interface AttachmentBlob {
  descriptor: Descriptor
  bytes: Uint8Array
}

/**
 * A manifest whose `subject` is the image: stored by digest, listed by the registry's referrers
 * API or in the fallback tag `sha256-<hex>` (an index of the referrers), or in a layout's
 * index.json (an entry with `artifactType`).
 */
export interface ReferrerAttachment {
  kind: 'referrer'
  /** What it is, for messages: `sbom`, `provenance`, `signature`. */
  what: string
  artifactType: string
  /** The image it is about. */
  subject: Descriptor
  manifest: AttachmentBlob
  /** The config and layers the manifest names. */
  blobs: AttachmentBlob[]
}

/**
 * A signature in cosign's key-based format: one layer of the manifest at `tag`
 * (`sha256-<hex>.sig`), the simple-signing payload with its signature in an annotation. The tag
 * may hold signatures already (other keys, earlier runs): the sink adds this layer to them (see
 * `signatureImage`) unless one with the same `key` annotation is there.
 */
export interface TaggedSignatureAttachment {
  kind: 'signature-tag'
  what: string
  subject: Descriptor
  tag: string
  /** The payload blob; its descriptor carries the signature annotations. */
  layer: AttachmentBlob
}

export type Attachment = ReferrerAttachment | TaggedSignatureAttachment

/** A document read back: a manifest or index with its exact bytes. */
export interface StoredDocument {
  descriptor: Descriptor
  bytes: Uint8Array
}

/**
 * An image and what is attached to it, where it is stored (a layout, a registry): what
 * `modelcar verify` and `inspect` read.
 */
export interface AttachedImage {
  /** For messages: `registry:127.0.0.1:5000/models/tiny:v1`, `oci-layout:./out:latest`. */
  readonly name: string
  /** The repository signatures name the image in (cosign's `docker-reference`); undefined for a layout. */
  readonly repository: string | undefined
  /** The image the reference names. */
  readonly root: Descriptor
  /** A manifest or index by tag or digest; undefined when there is none. */
  manifest(reference: string): Promise<StoredDocument | undefined>
  /** A blob, digest checked. */
  blob(desc: Descriptor): Promise<Uint8Array>
  /** The manifests whose subject is `digest`, as an index lists them (`artifactType`, annotations). */
  referrers(digest: string): Promise<Descriptor[]>
}

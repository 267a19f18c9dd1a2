// The manifest at cosign's signature tag, `sha256-<hex>.sig`: one layer per signature (the
// simple-signing payload, its signature in an annotation), on a config whose diff_ids are the
// layers' digests, as cosign builds it with go-containerregistry. A new signature is added to
// those the tag holds (other keys, other tools); one by the same signer of the same payload is
// there already and is not added twice.
import type { AttachmentBlob, TaggedSignatureAttachment } from '../contract/attachment.js'
import { encodeJson, sha256Digest } from '../oci/digest.js'
import { MediaType } from '../oci/media-types.js'
import type { Descriptor, ImageConfig, ImageManifest } from '../oci/types.js'
import { CosignAnnotation } from '../sign/cosign-signature.js'

/** The tag's manifest and config with `sig` among its layers; undefined when it is there already. */
export function signatureImage(
  held: ImageManifest | undefined,
  sig: TaggedSignatureAttachment,
): { manifest: AttachmentBlob; config: AttachmentBlob } | undefined {
  const layers: Descriptor[] = held?.layers ?? []
  const mine = sig.layer.descriptor
  const signer = mine.annotations?.[CosignAnnotation.signer]
  if (layers.some((l) => l.digest === mine.digest && signer !== undefined && l.annotations?.[CosignAnnotation.signer] === signer))
    return undefined
  const all = [...layers, mine]
  // What go-containerregistry's empty image with layers appended holds (zero times, empty platform).
  const configDoc: ImageConfig = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: all.map(() => ({ created: '0001-01-01T00:00:00Z' })),
    os: '',
    rootfs: { type: 'layers', diff_ids: all.map((l) => l.digest) },
    config: {},
  }
  const configBytes = encodeJson(configDoc)
  const config = {
    descriptor: { mediaType: MediaType.ociConfig, digest: sha256Digest(configBytes), size: configBytes.byteLength },
    bytes: configBytes,
  }
  const manifestDoc: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: config.descriptor, layers: all }
  const manifestBytes = encodeJson(manifestDoc)
  return {
    manifest: {
      descriptor: { mediaType: MediaType.ociManifest, digest: sha256Digest(manifestBytes), size: manifestBytes.byteLength },
      bytes: manifestBytes,
    },
    config,
  }
}

// Attachments in an OCI image layout: a referrer is an untagged entry of index.json (with its
// `artifactType` and annotations, as a referrers index lists it) whose manifest has the image as
// `subject`; cosign's signatures are the manifest tagged `sha256-<hex>.sig`. Blobs first, then
// index.json, replaced atomically: the layout is valid at every instant.
import type { Attachment, AttachedImage, StoredDocument, TaggedSignatureAttachment } from '../contract/attachment.js'
import { selectRoot } from '../image/base-image.js'
import { ImageLayout } from '../image/image-layout.js'
import { isDigest } from '../oci/digest.js'
import { Annotation, isIndexMediaType, isManifestMediaType } from '../oci/media-types.js'
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/types.js'
import { holdsReferrer, referrerEntry } from './referrer-manifest.js'
import { signatureImage } from './signature-image.js'

/** Stores `attachments` in the layout, beside the image its index.json holds already. */
export async function attachToLayout(layout: ImageLayout, attachments: readonly Attachment[]): Promise<void> {
  if (attachments.length === 0) return
  const before = await layout.readIndex()
  let index = before
  for (const a of attachments) {
    if (a.kind === 'referrer') {
      if (holdsReferrer(await layoutReferrers(layout, index, a.subject.digest), a)) continue
      for (const b of a.blobs) await layout.putBlob(b.bytes)
      await layout.putBlob(a.manifest.bytes)
      index = { ...index, manifests: [...index.manifests, referrerEntry(a)] }
    } else {
      index = await addSignature(layout, index, a)
    }
  }
  if (index !== before) await layout.writeIndex(index)
  // Writes go through the temporary folder: it goes again once empty, as after a commit.
  await layout.tidy()
}

async function addSignature(layout: ImageLayout, index: ImageIndex, sig: TaggedSignatureAttachment): Promise<ImageIndex> {
  const entry = index.manifests.find((m) => m.annotations?.[Annotation.refName] === sig.tag)
  const held = entry ? (JSON.parse(Buffer.from(await layout.readBlob(entry)).toString('utf8')) as ImageManifest) : undefined
  const next = signatureImage(held, sig)
  if (!next) return index
  await layout.putBlob(sig.layer.bytes)
  await layout.putBlob(next.config.bytes)
  await layout.putBlob(next.manifest.bytes)
  const tagged: Descriptor = { ...next.manifest.descriptor, annotations: { [Annotation.refName]: sig.tag } }
  const at = index.manifests.findIndex((m) => m.annotations?.[Annotation.refName] === sig.tag)
  return { ...index, manifests: at < 0 ? [...index.manifests, tagged] : index.manifests.map((m, i) => (i === at ? tagged : m)) }
}

/** The entries of index.json whose manifest has `digest` as its subject. */
async function layoutReferrers(layout: ImageLayout, index: ImageIndex, digest: string): Promise<Descriptor[]> {
  const out: Descriptor[] = []
  for (const m of index.manifests) {
    // Referrers are untagged manifests; images and signatures carry a tag.
    if (m.annotations?.[Annotation.refName] || !isManifestMediaType(m.mediaType)) continue
    const doc = JSON.parse(Buffer.from(await layout.readBlob(m)).toString('utf8')) as ImageManifest
    if (doc.subject?.digest === digest) out.push(m)
  }
  return out
}

/** The image `tag` names in the layout at `root` (the only one when no tag is given, as for a base), with what is attached to it. */
export async function layoutAttachedImage(root: string, tag: string | undefined, name: string): Promise<AttachedImage> {
  const layout = new ImageLayout(root)
  const index = await layout.readIndex()
  const image = selectRoot(layout.root, index, tag)
  const read = async (desc: Descriptor): Promise<StoredDocument> => ({ descriptor: desc, bytes: await layout.readBlob(desc) })
  return {
    name,
    repository: undefined,
    root: image,
    async manifest(reference) {
      if (isDigest(reference)) {
        const bytes = await layout.readBlob({ digest: reference }).catch(() => undefined)
        if (!bytes) return undefined
        const mediaType = (JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: string }).mediaType ?? ''
        return { descriptor: { mediaType, digest: reference, size: bytes.byteLength }, bytes }
      }
      const hit = index.manifests.find((m) => m.annotations?.[Annotation.refName] === reference)
      return hit && (isManifestMediaType(hit.mediaType) || isIndexMediaType(hit.mediaType)) ? read(hit) : undefined
    },
    blob: (desc) => layout.readBlob(desc),
    referrers: (digest) => layoutReferrers(layout, index, digest),
  }
}

// Attachments for the sinks that shell out (skopeo, oras): the tool copies each document like any
// image, from the layout it wrote to the registry (a referrer by its digest, cosign's signatures
// to their tag). What no copy can do is done with modelcar's own registry client, from the same
// credential files the tool reads: reading the signatures the tag holds already (so they are added
// to, not replaced) and keeping the referrers fallback tag where the registry has no referrers API
// (skopeo cannot copy an index whose entries carry `artifactType` with its digest kept).
import {
  Annotation,
  holdsReferrer,
  ImageLayout,
  referrerEntry,
  signatureImage,
  type Attachment,
  type ComponentContext,
  type Descriptor,
  type ImageManifest,
} from '@modelcar/core'
import { registryClientFor, type ImageReference } from '@modelcar/registry'
import { addToReferrersTag, referrersOf } from '../attachments/registry-attachments.js'

export interface ToolAttachments {
  /** Where the image went. */
  ref: ImageReference
  /** Plain HTTP (or unverified TLS) to the registry. */
  insecure: boolean
  /** The credentials file the tool is given, if any (else the usual files, as the tool reads them). */
  authFile: string | undefined
  /** Copies the layout's manifest tagged `tag` to `destination` (`host/repo@sha256:…` or `host/repo:tag`). */
  copy(tag: string, destination: string): Promise<void>
}

/** Puts each attachment in the layout at `layoutDir` under a tag of its own and has the tool copy it. */
export async function copyAttachments(
  layoutDir: string,
  attachments: readonly Attachment[],
  t: ToolAttachments,
  ctx: ComponentContext,
): Promise<void> {
  const env = t.authFile ? { ...ctx.env, REGISTRY_AUTH_FILE: t.authFile } : ctx.env
  const client = registryClientFor(t.ref, ctx, { insecure: t.insecure, push: true, env })
  const layout = new ImageLayout(layoutDir)
  const repo = `${t.ref.registry}/${t.ref.repository}`
  for (const [i, a] of attachments.entries()) {
    if (a.kind === 'referrer') {
      if (holdsReferrer(await referrersOf(client, a.subject.digest), a)) continue
      const tag = `modelcar-attachment-${i}`
      for (const b of a.blobs) await layout.putBlob(b.bytes)
      await layout.putBlob(a.manifest.bytes)
      await tagInLayout(layout, a.manifest.descriptor, tag)
      await t.copy(tag, `${repo}@${a.manifest.descriptor.digest}`)
      await addToReferrersTag(client, a.subject.digest, referrerEntry(a))
    } else {
      const current = await client.getManifest(a.tag)
      const next = signatureImage(current && (JSON.parse(Buffer.from(current.bytes).toString('utf8')) as ImageManifest), a)
      if (!next) continue
      for (const b of [a.layer, next.config, next.manifest]) await layout.putBlob(b.bytes)
      await tagInLayout(layout, next.manifest.descriptor, a.tag)
      await t.copy(a.tag, `${repo}:${a.tag}`)
    }
  }
}

/** index.json with `tag` on `desc` (replacing what the tag named). */
async function tagInLayout(layout: ImageLayout, desc: Descriptor, tag: string): Promise<void> {
  const index = await layout.readIndex()
  const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: { [Annotation.refName]: tag } }
  await layout.writeIndex({ ...index, manifests: [...index.manifests.filter((m) => m.annotations?.[Annotation.refName] !== tag), entry] })
}

// Attachments in a registry. A referrer is pushed by digest with its blobs; the registry's
// referrers API lists it where there is one (detected with a GET: ECR sends `OCI-Subject`
// without having the API), otherwise the client keeps the fallback tag `sha256-<hex>`, an index
// of the referring manifests, adding to it what is not there (never dropping others'). cosign's
// signatures go to `sha256-<hex>.sig`, added to the signatures the tag holds. The same reading
// gives `modelcar verify` and `inspect` an image with its attachments.
import {
  errors,
  holdsReferrer,
  isIndexMediaType,
  isManifestMediaType,
  MediaType,
  referrerEntry,
  signatureImage,
  type AttachedImage,
  type Attachment,
  type ComponentContext,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type ReferrerAttachment,
  type TaggedSignatureAttachment,
} from '@modelcar/core'
import {
  formatImageReference,
  parseImageReference,
  registryClientFor,
  registryErrors,
  RegistryClient,
  type ImageReference,
} from '@modelcar/registry'

/** Stores `attachments` in the client's repository. */
export async function attachToRegistry(client: RegistryClient, attachments: readonly Attachment[]): Promise<void> {
  for (const a of attachments) {
    if (a.kind === 'referrer') await pushReferrer(client, a)
    else await pushSignature(client, a)
  }
}

async function pushReferrer(client: RegistryClient, a: ReferrerAttachment): Promise<void> {
  if (holdsReferrer(await referrersOf(client, a.subject.digest), a)) return
  for (const b of a.blobs) if (!(await client.hasBlob(b.descriptor.digest))) await client.putBlob(b.bytes, b.descriptor.digest)
  await client.putManifest(a.manifest.descriptor.digest, a.manifest.bytes, a.manifest.descriptor.mediaType)
  await addToReferrersTag(client, a.subject.digest, referrerEntry(a))
}

async function pushSignature(client: RegistryClient, sig: TaggedSignatureAttachment): Promise<void> {
  const current = await client.getManifest(sig.tag)
  const held = current ? (JSON.parse(Buffer.from(current.bytes).toString('utf8')) as ImageManifest) : undefined
  const next = signatureImage(held, sig)
  if (!next) return
  for (const b of [sig.layer, next.config])
    if (!(await client.hasBlob(b.descriptor.digest))) await client.putBlob(b.bytes, b.descriptor.digest)
  await client.putManifest(sig.tag, next.manifest.bytes, next.manifest.descriptor.mediaType)
}

/**
 * OCI 1.1: without the referrers API, the client keeps the tag `sha256-<hex>` of the subject, an
 * index of the manifests that refer to it with their artifactType and annotations. `entry` is added
 * to it unless it is there.
 */
export async function addToReferrersTag(client: RegistryClient, subject: string, entry: Descriptor): Promise<void> {
  if (await client.hasReferrersApi(subject)) return
  const tag = subject.replace(':', '-')
  const current = await client.getManifest(tag)
  const index: ImageIndex = current
    ? (JSON.parse(Buffer.from(current.bytes).toString('utf8')) as ImageIndex)
    : { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }
  if (index.manifests.some((m) => m.digest === entry.digest)) return
  const next: ImageIndex = { ...index, manifests: [...index.manifests, entry] }
  await client.putManifest(tag, Buffer.from(JSON.stringify(next)), MediaType.ociIndex)
}

/** The manifests that refer to `digest`: the referrers API's answer, else the fallback tag's index. */
export async function referrersOf(client: RegistryClient, digest: string): Promise<Descriptor[]> {
  const res = await client.send('GET', `/v2/${client.repository}/referrers/${digest}`, {
    ok: [200, 404, 400, 405],
    headers: { accept: MediaType.ociIndex },
  })
  if (res.status === 200 && (res.headers.get('content-type') ?? '').includes(MediaType.ociIndex))
    return ((await res.json()) as ImageIndex).manifests ?? []
  await res.body?.cancel()
  const fallback = await client.getManifest(digest.replace(':', '-'))
  if (!fallback || !isIndexMediaType(fallback.mediaType)) return []
  return (JSON.parse(Buffer.from(fallback.bytes).toString('utf8')) as ImageIndex).manifests ?? []
}

/** The repository a signature names (cosign's `docker-reference`): Docker Hub as `index.docker.io`, as cosign writes it. */
export function signedRepository(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry === 'docker.io' ? 'index.docker.io' : ref.registry}/${ref.repository}`
}

/** The image `text` (`HOST/REPO[:TAG|@DIGEST]`) names in its registry, with what is attached to it. */
export async function registryAttachedImage(text: string, ctx: ComponentContext, insecure = false): Promise<AttachedImage> {
  const r = parseImageReference(text)
  if (!r) throw errors.argumentInvalid(`\`${text}\` is not an image reference`, 'write `HOST[:PORT]/REPOSITORY[:TAG|@sha256:…]`')
  const name = `registry:${formatImageReference(r)}`
  const client = registryClientFor(r, ctx, { insecure })
  const reference = r.digest ?? r.tag!
  const top = await client.getManifest(reference)
  if (!top || !(isIndexMediaType(top.mediaType) || isManifestMediaType(top.mediaType)))
    throw registryErrors.registryRefused(`\`${name}\`: ${top ? `is a \`${top.mediaType}\`, not an image` : 'there is no such image'}`, {
      hint: 'check the tag (`skopeo list-tags docker://REGISTRY/REPO`) and the repository name',
    })
  return {
    name,
    repository: signedRepository(r),
    root: { mediaType: top.mediaType, digest: top.digest, size: top.bytes.byteLength },
    async manifest(ref) {
      const m = await client.getManifest(ref)
      return m && { descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength }, bytes: m.bytes }
    },
    blob: (desc) => client.getBlob(desc),
    referrers: (digest) => referrersOf(client, digest),
  }
}

// Sink `registry`: pushes the image to an OCI distribution registry with @modelcar/registry's
// client. Layers stream straight from the encoder into the upload (no local copy); blobs the
// registry holds are skipped, base blobs on the same registry are mounted (registry-blobs.ts);
// configs, then manifests, then indexes, and the tag last, so a failed run leaves the tag where it was.
// The image's ModelPack manifest may get a tag of its own, moved with the others.
import { Type } from '@sinclair/typebox'
import {
  defineSink,
  errors,
  mapBounded,
  modelPackManifestOf,
  parseByteSize,
  withDefault,
  type CommitResult,
  type Descriptor,
  type EditedImage,
  type ImageIndex,
  type ImageManifest,
} from '@modelcar/core'
import {
  formatImageReference,
  IMAGE_REFERENCE_PATTERN,
  parseImageReference,
  registryClientFor,
  RegistryClient,
  uploadStrategyFor,
  type ImageReference,
} from '@modelcar/registry'
import { addToReferrersTag, attachToRegistry, signedRepository } from './attachments/registry-attachments.js'
import { RegistryBlobs } from './registry-blobs.js'

export const registrySinkSchema = Type.Object(
  {
    ref: Type.String({
      description:
        'Where the image goes: `HOST[:PORT]/REPOSITORY[:TAG]` (tag `latest` when omitted; a name without a host is on Docker Hub). Credentials come from the files podman and Docker use (REGISTRY_AUTH_FILE, containers auth.json, ~/.docker/config.json, credential helpers).',
      examples: ['quay.io/acme/granite:2b', '127.0.0.1:5000/models/tiny:v1'],
      pattern: IMAGE_REFERENCE_PATTERN,
    }),
    tags: withDefault(
      Type.Array(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$' }), {
        description: 'More tags of the same repository to point at the image, after the tag of `ref` (each blob is still uploaded once).',
        uniqueItems: true,
        examples: [['latest', '2b']],
      }),
      [],
    ),
    modelpackTag: Type.Optional(
      Type.String({
        description:
          'A tag of the same repository for the ModelPack manifest alone (with `modelpack` in `image.formats`): tools that read model artifacts (modctl, CRI-O image volumes, Harbor) pull it without picking it out of the index.',
        pattern: '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$',
        examples: ['2b-modelpack'],
      }),
    ),
    insecure: withDefault(
      Type.Boolean({
        description:
          'Speak plain HTTP to this registry. Loopback registries (localhost, 127.*, [::1]) always get plain HTTP; every other host gets verified TLS unless this is set.',
        examples: [true],
      }),
      false,
    ),
    upload: Type.Optional(
      Type.Union([Type.Literal('streamed'), Type.Literal('chunked'), Type.Literal('monolithic')], {
        description:
          'How blobs are uploaded. `streamed`: one PATCH carrying the whole layer as it is encoded, then `PUT ?digest=`. `chunked`: PATCHes of `chunkSize` with Content-Range. `monolithic`: one PUT per blob (the layer is read twice: once for its digest). Default: what the registry is known to need (ghcr.io chunked ≤ 4 MiB, ECR chunked ≥ 5 MB, Google Artifact Registry monolithic, others streamed).',
        examples: ['chunked'],
      }),
    ),
    chunkSize: Type.Optional(
      Type.Union([Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?\\s*([kKmMgG]i?[bB]|[bB])?$' }), Type.Integer({ minimum: 1 })], {
        description:
          'Bytes per PATCH with `upload: chunked` (held in memory once per layer in flight). Default: what the registry is known to need, else 4 MiB.',
        examples: ['4MiB', '8MB'],
      }),
    ),
    concurrency: withDefault(
      Type.Integer({
        description: "Configs and manifests checked or uploaded at once (layers follow the run's concurrency).",
        minimum: 1,
        maximum: 32,
        examples: [8],
      }),
      4,
    ),
  },
  { additionalProperties: false },
)

export const registrySink = defineSink({
  type: 'registry',
  description: 'Pushes the image to an OCI registry (Quay, GHCR, Harbor, Docker Hub, distribution), streaming layers without local copies.',
  schema: registrySinkSchema,
  create(config, ctx) {
    const ref = pushReference(config.ref)
    const tag = ref.tag!
    if (config.modelpackTag !== undefined && [tag, ...config.tags].includes(config.modelpackTag))
      throw errors.componentInvalid(
        'registry',
        `\`modelpackTag\` \`${config.modelpackTag}\` is also a tag of the image`,
        'give the ModelPack manifest a tag of its own',
      )
    const target = `registry:${formatImageReference(ref)}`
    const chunkBytes = config.chunkSize === undefined ? undefined : parseByteSize(config.chunkSize)
    if (chunkBytes !== undefined && !(chunkBytes > 0))
      throw errors.componentInvalid('registry', `chunkSize \`${String(config.chunkSize)}\` is not a size`, 'e.g. `4MiB`')
    const client = registryClientFor(ref, ctx, { insecure: config.insecure, push: true, name: target })
    const strategy = uploadStrategyFor(ref.apiHost, { mode: config.upload, chunkBytes })
    const blobs = new RegistryBlobs(client, ref.registry, strategy, ctx, target)
    return {
      target,
      repository: signedRepository(ref),
      check: () => client.ping(),
      async prepare() {
        await client.prepare()
        const s = blobs.upload
        ctx.logger.debug(`upload: ${s.mode}${s.mode === 'chunked' ? ` (${s.chunkBytes} bytes per PATCH)` : ''}, ${s.reason}`)
        await blobs.readHeld(tag)
      },
      has: (desc, origin) => blobs.has(desc, origin),
      openBlob: (hint) => blobs.open(hint),
      heldLayers: async () => blobs.heldLayers(),
      commit: (image) =>
        pushImage(client, blobs, image, {
          tags: [tag, ...config.tags.filter((t) => t !== tag)],
          modelpackTag: config.modelpackTag,
          target,
          concurrency: config.concurrency,
        }),
      attach: (attachments) => attachToRegistry(client, attachments),
      async abort() {
        // Uploads cancel themselves; the tag was not moved, so the registry shows the old image.
      },
    }
  },
})

/** The sink's `ref`: a reference with a tag (a sink pushes to a tag, not a digest). */
function pushReference(text: string): ImageReference {
  const ref = parseImageReference(text)
  if (!ref)
    throw errors.componentInvalid(
      'registry',
      `\`${text}\` is not an image reference`,
      'write `HOST[:PORT]/REPOSITORY[:TAG]`, e.g. `quay.io/acme/granite:2b`',
    )
  if (ref.digest)
    throw errors.componentInvalid(
      'registry',
      `\`${text}\` names a digest; a sink pushes to a tag`,
      `drop \`@${ref.digest}\` and give a tag`,
    )
  return ref
}

/** Configs, then manifests and indexes children first, each by digest; the tags move last. */
async function pushImage(
  client: RegistryClient,
  blobs: RegistryBlobs,
  image: EditedImage,
  o: { tags: string[]; modelpackTag: string | undefined; target: string; concurrency: number },
): Promise<CommitResult> {
  const modelpack = o.modelpackTag === undefined ? undefined : modelPackManifestOf(image)
  if (o.modelpackTag !== undefined && !modelpack)
    throw errors.componentInvalid(
      'registry',
      '`modelpackTag` is set, but the image has no ModelPack manifest',
      'add `modelpack` to `image.formats`, or remove `modelpackTag`',
    )
  const configs = image.documents.filter((d) => d.kind === 'config')
  await mapBounded(configs, o.concurrency, async (doc) => {
    if (!(await blobs.holds(doc.descriptor))) await client.putBlob(doc.bytes, doc.descriptor.digest)
    blobs.added(doc.descriptor.digest)
  })
  for (const doc of image.documents) {
    if (doc.kind === 'config' || doc.descriptor.digest === image.root.digest) continue
    if (!(await client.headManifest(doc.descriptor.digest))) {
      await client.putManifest(doc.descriptor.digest, doc.bytes, doc.descriptor.mediaType)
      await keepReferrersTag(client, doc)
    }
  }
  const rootDoc = image.documents.find((d) => d.descriptor.digest === image.root.digest)
  if (!rootDoc) throw errors.planInvalid('the edited image has no root document')
  for (const tag of o.tags) {
    if ((await client.headManifest(tag)) === image.root.digest) continue
    await client.putManifest(tag, rootDoc.bytes, image.root.mediaType)
    await keepReferrersTag(client, rootDoc)
  }
  if (modelpack && (await client.headManifest(o.modelpackTag!)) !== modelpack.digest) {
    const doc = image.documents.find((d) => d.descriptor.digest === modelpack.digest)!
    await client.putManifest(o.modelpackTag!, doc.bytes, modelpack.mediaType)
  }
  return { ref: o.target, digest: image.root.digest }
}

/** A manifest of the image with a `subject` is a referrer: listed by the API, or added to the fallback tag. */
async function keepReferrersTag(client: RegistryClient, doc: EditedImage['documents'][number]): Promise<void> {
  if (doc.kind !== 'manifest') return
  const manifest = JSON.parse(Buffer.from(doc.bytes).toString('utf8')) as Partial<ImageManifest & ImageIndex>
  if (!manifest.subject) return
  const entry: Descriptor = { mediaType: doc.descriptor.mediaType, digest: doc.descriptor.digest, size: doc.descriptor.size }
  const artifactType = manifest.artifactType ?? manifest.config?.mediaType
  if (artifactType) entry.artifactType = artifactType
  if (manifest.annotations) entry.annotations = manifest.annotations
  await addToReferrersTag(client, manifest.subject.digest, entry)
}

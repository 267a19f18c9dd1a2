// Sink `registry`: pushes the image to an OCI distribution registry with our own client. Layers
// stream straight from the encoder into the upload (no local copy); blobs the registry holds are
// skipped, base blobs on the same registry are mounted; configs, then manifests, then indexes,
// and the tag last, so a failed run leaves the tag where it was.
import { Type } from '@sinclair/typebox'
import {
  defineSink,
  errors,
  mapBounded,
  MediaType,
  parseByteSize,
  type BlobWriter,
  type Descriptor,
  type EditedImage,
  type ImageIndex,
  type ImageManifest,
} from '@modelcar/core'
import { formatImageReference, IMAGE_REFERENCE_PATTERN, parseImageReference, registryBaseUrl } from '@modelcar/registry'
import { RegistryClient, streamAgain } from '@modelcar/registry'
import { uploadStrategyFor, type UploadStrategy } from '@modelcar/registry'
import { createRegistryAuth } from '@modelcar/registry'

export const registrySinkSchema = Type.Object(
  {
    ref: Type.String({
      description:
        'Where the image goes: `HOST[:PORT]/REPOSITORY[:TAG]` (tag `latest` when omitted; a name without a host is on Docker Hub). Credentials come from the files podman and Docker use (REGISTRY_AUTH_FILE, containers auth.json, ~/.docker/config.json, credential helpers).',
      examples: ['quay.io/acme/granite:2b', '127.0.0.1:5000/models/tiny:v1'],
      pattern: IMAGE_REFERENCE_PATTERN,
    }),
    insecure: Type.Optional(
      Type.Boolean({
        description:
          'Speak plain HTTP to this registry. Loopback registries (localhost, 127.*, [::1]) always get plain HTTP; every other host gets verified TLS unless this is set.',
        default: false,
        examples: [true],
      }),
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
    concurrency: Type.Optional(
      Type.Integer({
        description: "Configs and manifests checked or uploaded at once (layers follow the run's concurrency).",
        minimum: 1,
        maximum: 32,
        default: 4,
        examples: [8],
      }),
    ),
  },
  { additionalProperties: false },
)

export const registrySink = defineSink({
  type: 'registry',
  description: 'Pushes the image to an OCI registry (Quay, GHCR, Harbor, Docker Hub, distribution), streaming layers without local copies.',
  schema: registrySinkSchema,
  create(config, ctx) {
    const ref = parseImageReference(config.ref)
    if (!ref)
      throw errors.componentInvalid(
        'registry',
        `\`${config.ref}\` is not an image reference`,
        'write `HOST[:PORT]/REPOSITORY[:TAG]`, e.g. `quay.io/acme/granite:2b`',
      )
    if (ref.digest)
      throw errors.componentInvalid(
        'registry',
        `\`${config.ref}\` names a digest; a sink pushes to a tag`,
        `drop \`@${ref.digest}\` and give a tag`,
      )
    const tag = ref.tag!
    const target = `registry:${formatImageReference(ref)}`
    const chunkBytes = config.chunkSize === undefined ? undefined : parseByteSize(config.chunkSize)
    if (chunkBytes !== undefined && !(chunkBytes > 0))
      throw errors.componentInvalid('registry', `chunkSize \`${String(config.chunkSize)}\` is not a size`, 'e.g. `4MiB`')
    let strategy: UploadStrategy = uploadStrategyFor(ref.apiHost, { mode: config.upload, chunkBytes })
    const client = new RegistryClient({
      baseUrl: registryBaseUrl(ref.apiHost, config.insecure ?? false),
      registry: ref.registry,
      repository: ref.repository,
      auth: createRegistryAuth({ env: ctx.env, fetch: ctx.fetch, secret: ctx.secret, insecureHosts: config.insecure ? [ref.apiHost] : [] }),
      fetch: ctx.fetch,
      signal: ctx.signal,
      push: true,
      onRetry: (what, attempt, reason) => ctx.emit({ type: 'retry', what: `${target}: ${what}`, attempt, reason }),
    })
    const concurrency = config.concurrency ?? 4
    /** Blobs known to be in the repository (HEAD hits, mounts, finished uploads). */
    const present = new Set<string>()
    /** Layers of the image the tag points at now, by their annotations: a re-run checks these before sending. */
    let previousLayers = new Map<string, string>()

    const has = async (desc: Pick<Descriptor, 'digest'>): Promise<boolean> => {
      if (present.has(desc.digest)) return true
      const hit = await client.hasBlob(desc.digest)
      if (hit) present.add(desc.digest)
      return hit
    }

    return {
      target,
      async check() {
        await client.ping()
      },
      async prepare() {
        await client.prepare()
        ctx.logger.debug(
          `upload: ${strategy.mode}${strategy.mode === 'chunked' ? ` (${strategy.chunkBytes} bytes per PATCH)` : ''}, ${strategy.reason}`,
        )
        previousLayers = await layersAtTag(client, tag).catch(() => new Map())
      },
      async has(desc, origin) {
        if (await has(desc)) return true
        if (origin && origin.registry === ref.registry && origin.repository !== ref.repository) {
          if (await client.mount(desc.digest, origin.repository)) {
            present.add(desc.digest)
            ctx.logger.info(`mounted ${desc.digest} from ${origin.repository}`)
            return true
          }
        }
        return false
      },
      async openBlob(hint): Promise<BlobWriter> {
        const first = (hint.attempt ?? 1) === 1
        const key = hint.annotations ? layerKey(hint.annotations) : undefined
        // A layer the tag's image already has under the same annotations is most likely the same
        // bytes: check its digest once encoded, and send it only if the registry lacks it.
        if (first && key && previousLayers.has(key)) return new PresenceProbe(has, present)
        if (hint.digest && present.has(hint.digest)) return new PresenceProbe(has, present)
        const writer = await client.openUpload(strategy, { digest: hint.digest, size: hint.size })
        return fallBackToMonolithic(
          writer,
          () => {
            // Layers in flight at once all hear the refusal; one warning, every one of them retried.
            if (strategy.mode !== 'monolithic') {
              ctx.emit({
                type: 'warning',
                component: 'registry',
                message: `${target}: the registry refuses PATCH uploads; using one PUT per blob (each layer is read twice)`,
              })
              strategy = { mode: 'monolithic', chunkBytes: 0, reason: 'the registry refused PATCH' }
            }
          },
          (digest) => present.add(digest),
        )
      },
      async commit(image) {
        const configs = image.documents.filter((d) => d.kind === 'config')
        await mapBounded(configs, concurrency, async (doc) => {
          if (!(await has(doc.descriptor))) await client.putBlob(doc.bytes, doc.descriptor.digest)
          present.add(doc.descriptor.digest)
        })
        // Children before parents, each by digest; the tag moves last.
        for (const doc of image.documents) {
          if (doc.kind === 'config' || doc.descriptor.digest === image.root.digest) continue
          if (!(await client.headManifest(doc.descriptor.digest))) {
            await client.putManifest(doc.descriptor.digest, doc.bytes, doc.descriptor.mediaType)
            await keepReferrersTag(client, doc)
          }
        }
        const rootDoc = image.documents.find((d) => d.descriptor.digest === image.root.digest)
        if (!rootDoc) throw errors.planInvalid('the edited image has no root document')
        if ((await client.headManifest(tag)) !== image.root.digest) {
          await client.putManifest(tag, rootDoc.bytes, image.root.mediaType)
          await keepReferrersTag(client, rootDoc)
        }
        return { ref: target, digest: image.root.digest }
      },
      async abort() {
        // Uploads cancel themselves; the tag was not moved, so the registry shows the old image.
      },
    }
  },
})

/** Annotations as one string: the same layer (title, content digest, origin) gives the same key. */
function layerKey(annotations: Record<string, string>): string {
  return JSON.stringify(Object.entries(annotations).sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** The layers of the image `tag` points at now, keyed by their annotations. */
async function layersAtTag(client: RegistryClient, tag: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const top = await client.getManifest(tag)
  if (!top) return out
  const visit = async (bytes: Uint8Array, depth: number): Promise<void> => {
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ImageIndex & ImageManifest>
    for (const l of doc.layers ?? []) if (l.annotations) out.set(layerKey(l.annotations), l.digest)
    if (depth > 2) return
    for (const m of doc.manifests ?? []) {
      if (m.mediaType !== MediaType.ociManifest && m.mediaType !== MediaType.ociIndex) continue
      const child = await client.getManifest(m.digest)
      if (child) await visit(child.bytes, depth + 1)
    }
  }
  await visit(top.bytes, 0)
  return out
}

/** Takes no bytes; at commit, the blob must already be in the registry, else it is streamed again for real. */
class PresenceProbe implements BlobWriter {
  constructor(
    private readonly has: (d: { digest: string }) => Promise<boolean>,
    private readonly present: Set<string>,
  ) {}
  async write(): Promise<void> {}
  async commit(expected: { digest: string }): Promise<void> {
    if (await this.has(expected)) return
    this.present.delete(expected.digest)
    throw streamAgain(`\`${expected.digest}\` is not in the registry yet: streaming it`)
  }
  async abort(): Promise<void> {}
}

/**
 * A PATCH the registry refuses outright (405, UNSUPPORTED) switches the sink to monolithic PUTs
 * and asks for the layer again; every finished upload is remembered as present.
 */
function fallBackToMonolithic(writer: BlobWriter, switchMode: () => void, done: (digest: string) => void): BlobWriter {
  const refusesPatch = (err: unknown) => {
    const e = err as { status?: number; registryCodes?: string[]; message?: string }
    return (e?.status === 405 || e?.status === 415 || !!e?.registryCodes?.includes('UNSUPPORTED')) && /\bPATCH\b/.test(e.message ?? '')
  }
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      if (refusesPatch(err)) {
        switchMode()
        await writer.abort().catch(() => {})
        throw streamAgain('the registry refused PATCH: streaming the blob again as one PUT')
      }
      throw err
    }
  }
  return {
    write: (chunk) => wrap(() => writer.write(chunk)),
    commit: (expected) =>
      wrap(async () => {
        await writer.commit(expected)
        done(expected.digest)
      }),
    abort: () => writer.abort(),
  }
}

/**
 * OCI 1.1: a manifest with a `subject` is listed by the registry's referrers API when it has one;
 * otherwise the client keeps the referrers tag `sha256-<hex>`, an index of the referring
 * manifests. The API is detected with a GET, not from `OCI-Subject` alone: ECR sends that header
 * without having the API.
 */
async function keepReferrersTag(client: RegistryClient, doc: EditedImage['documents'][number]): Promise<void> {
  if (doc.kind !== 'manifest') return
  const manifest = JSON.parse(Buffer.from(doc.bytes).toString('utf8')) as Partial<ImageManifest & ImageIndex>
  if (!manifest.subject) return
  if (await client.hasReferrersApi(manifest.subject.digest)) return
  const tag = manifest.subject.digest.replace(':', '-')
  const current = await client.getManifest(tag)
  const index: ImageIndex = current
    ? (JSON.parse(Buffer.from(current.bytes).toString('utf8')) as ImageIndex)
    : { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }
  if (index.manifests.some((m) => m.digest === doc.descriptor.digest)) return
  const entry: Descriptor = { mediaType: doc.descriptor.mediaType, digest: doc.descriptor.digest, size: doc.descriptor.size }
  const artifactType = manifest.artifactType ?? manifest.config?.mediaType
  if (artifactType) entry.artifactType = artifactType
  if (manifest.annotations) entry.annotations = manifest.annotations
  const next: ImageIndex = { ...index, manifests: [...index.manifests, entry] }
  await client.putManifest(tag, Buffer.from(JSON.stringify(next)), MediaType.ociIndex)
}

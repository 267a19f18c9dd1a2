// The blobs of the registry sink's repository: which it holds (HEAD hits, mounts, finished
// uploads), the layers of the image its tag points at (the engine reuses them), and a writer for
// each blob the engine streams. A blob known to be there already is only checked at commit
// (PresenceProbe); a registry that refuses PATCH switches the sink to one PUT per blob. Either
// way, a blob that must come again says so at commit.
import {
  isIndexMediaType,
  isManifestMediaType,
  isModelcarError,
  MediaType,
  type BlobHint,
  type BlobOrigin,
  type BlobWriter,
  type ComponentContext,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type StreamAgain,
} from '@modelcar/core'
import { openUpload, type RegistryClient, type UploadStrategy } from '@modelcar/registry'

export class RegistryBlobs {
  /** Blobs known to be in the repository. */
  private readonly present = new Set<string>()
  /** Layers of the image the tag points at now, with their annotations. */
  private held: Descriptor[] = []

  constructor(
    private readonly client: RegistryClient,
    /** The registry as references name it: where base blobs can be mounted from. */
    private readonly registry: string,
    private strategy: UploadStrategy,
    private readonly ctx: Pick<ComponentContext, 'emit' | 'logger'>,
    private readonly target: string,
  ) {}

  get upload(): UploadStrategy {
    return this.strategy
  }

  /** Learns the layers of the image `tag` points at, if any (a registry that will not say is taken as holding none). */
  async readHeld(tag: string): Promise<void> {
    this.held = await layersAtTag(this.client, tag).catch(() => [])
  }

  heldLayers(): Descriptor[] {
    return this.held
  }

  /** Whether the repository holds the blob (asked once, then remembered). */
  async holds(desc: Pick<Descriptor, 'digest'>): Promise<boolean> {
    if (this.present.has(desc.digest)) return true
    const hit = await this.client.hasBlob(desc.digest)
    if (hit) this.present.add(desc.digest)
    return hit
  }

  /** Whether the repository holds the blob, or does after a mount from the base's repository on the same registry. */
  async has(desc: Pick<Descriptor, 'digest'> & Partial<Pick<Descriptor, 'mediaType'>>, origin?: BlobOrigin): Promise<boolean> {
    // A manifest or an index is held under /manifests/, not /blobs/ (where a registry answers 404 for it).
    if (desc.mediaType && (isManifestMediaType(desc.mediaType) || isIndexMediaType(desc.mediaType)))
      return (await this.client.headManifest(desc.digest)) !== undefined
    if (await this.holds(desc)) return true
    if (!origin || origin.registry !== this.registry || origin.repository === this.client.repository) return false
    if (!(await this.client.mount(desc.digest, origin.repository))) return false
    this.present.add(desc.digest)
    this.ctx.logger.info(`mounted ${desc.digest} from ${origin.repository}`)
    return true
  }

  added(digest: string): void {
    this.present.add(digest)
  }

  forget(digest: string): void {
    this.present.delete(digest)
  }

  async open(hint: BlobHint): Promise<BlobWriter> {
    if (hint.digest && this.present.has(hint.digest)) return new PresenceProbe(this)
    const writer = await openUpload(this.client, this.strategy, { digest: hint.digest, size: hint.size })
    return new PatchFallback(writer, this)
  }

  /** The registry refused a PATCH: every later blob goes up as one PUT. Layers in flight at once all hear it; one warning. */
  refusedPatch(): void {
    if (this.strategy.mode === 'monolithic') return
    this.ctx.emit({
      type: 'warning',
      component: 'registry',
      message: `${this.target}: the registry refuses PATCH uploads; using one PUT per blob (each layer is read twice)`,
    })
    this.strategy = { mode: 'monolithic', chunkBytes: 0, reason: 'the registry refused PATCH' }
  }
}

/** Takes no bytes; at commit, the blob must already be in the registry, else it is streamed again for real. */
class PresenceProbe implements BlobWriter {
  constructor(private readonly blobs: RegistryBlobs) {}
  async write(): Promise<void> {}
  async commit(expected: { digest: string }): Promise<void | StreamAgain> {
    if (await this.blobs.holds(expected)) return
    this.blobs.forget(expected.digest)
    return { streamAgain: `\`${expected.digest}\` is not in the registry yet: streaming it` }
  }
  async abort(): Promise<void> {}
}

/**
 * An upload whose PATCH the registry refuses outright (405, 415, UNSUPPORTED) switches the sink to
 * monolithic PUTs: the rest of this pass is taken without being sent, and commit asks for the blob
 * again. A finished upload is remembered as present.
 */
class PatchFallback implements BlobWriter {
  private refused = false

  constructor(
    private readonly writer: BlobWriter,
    private readonly blobs: RegistryBlobs,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.refused) return
    await this.writer.write(chunk).catch((err: unknown) => this.refuse(err))
  }

  async commit(expected: Pick<Descriptor, 'digest' | 'size'>): Promise<void | StreamAgain> {
    if (!this.refused) {
      try {
        const answer = await this.writer.commit(expected)
        if (!answer) this.blobs.added(expected.digest)
        return answer
      } catch (err) {
        await this.refuse(err)
      }
    }
    return { streamAgain: 'the registry refused PATCH: streaming the blob again as one PUT' }
  }

  async abort(): Promise<void> {
    if (!this.refused) await this.writer.abort()
  }

  private async refuse(err: unknown): Promise<void> {
    if (!refusesPatch(err)) throw err
    this.refused = true
    this.blobs.refusedPatch()
    await this.writer.abort().catch(() => {})
  }
}

function refusesPatch(err: unknown): boolean {
  if (!isModelcarError(err) || err.http?.method !== 'PATCH') return false
  const { status, serverCodes } = err.http
  return status === 405 || status === 415 || !!serverCodes?.includes('UNSUPPORTED')
}

/** The layers of the image `tag` points at now (every platform's, each digest once). */
async function layersAtTag(client: RegistryClient, tag: string): Promise<Descriptor[]> {
  const out = new Map<string, Descriptor>()
  const top = await client.getManifest(tag)
  if (!top) return []
  const visit = async (bytes: Uint8Array, depth: number): Promise<void> => {
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ImageIndex & ImageManifest>
    for (const l of doc.layers ?? []) if (!out.has(l.digest)) out.set(l.digest, l)
    if (depth > 2) return
    for (const m of doc.manifests ?? []) {
      if (m.mediaType !== MediaType.ociManifest && m.mediaType !== MediaType.ociIndex) continue
      const child = await client.getManifest(m.digest)
      if (child) await visit(child.bytes, depth + 1)
    }
  }
  await visit(top.bytes, 0)
  return [...out.values()]
}

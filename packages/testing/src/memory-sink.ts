// Sink `memory`: blobs and committed images held in memory, for tests of sources, transforms and
// the engine. It checks what a real sink checks (sizes, digests, that an image's blobs are all
// there before it commits, nothing of a failed run kept) and says which layers its tag holds (so
// a second run into the same store reuses them), so a test that passes with it has not been let
// off lightly.
import {
  defineSink,
  ModelcarError,
  sha256Digest,
  Type,
  withDefault,
  type BlobWriter,
  type Descriptor,
  type EditedImage,
  type SinkComponent,
} from '@modelcar/core'

export interface CommittedImage {
  tag: string
  root: Descriptor
  image: EditedImage
}

export class MemoryStore {
  /** Blob bytes by digest. */
  readonly blobs = new Map<string, Uint8Array>()
  /** The image each tag points to. */
  readonly images = new Map<string, CommittedImage>()
  /** Writers opened and neither committed nor aborted (a sink must leave none after a run). */
  open = 0

  /** What the store holds, as `listTarget` of the sink kit wants it: `blob:<digest>` and `tag:<tag>`. */
  list(): string[] {
    return [...[...this.blobs.keys()].map((d) => `blob:${d}`), ...[...this.images.keys()].map((t) => `tag:${t}`)]
  }

  /** A committed blob as text (manifests, configs). */
  text(digest: string): string {
    const bytes = this.blobs.get(digest)
    if (!bytes) throw new Error(`memory sink: no blob ${digest}`)
    return Buffer.from(bytes).toString('utf8')
  }
}

export const memorySinkSchema = Type.Object(
  { tag: withDefault(Type.String({ description: 'Tag the committed image is kept under.', examples: ['latest'] }), 'latest') },
  { additionalProperties: false },
)

export type MemorySinkComponent = SinkComponent<typeof memorySinkSchema> & { store: MemoryStore }

/** A `memory` sink; every instance it creates shares `store`. */
export function memorySink(store: MemoryStore = new MemoryStore()): MemorySinkComponent {
  const component = defineSink({
    type: 'memory',
    description: 'Keeps blobs and images in memory (tests).',
    schema: memorySinkSchema,
    create(config) {
      const tag = config.tag
      const inFlight = new Set<() => void>()
      // Blobs of this run: in the store once the run commits, dropped if it fails (as on disk).
      const staged = new Map<string, Uint8Array>()
      const holds = (d: Pick<Descriptor, 'digest' | 'size'>) => (staged.get(d.digest) ?? store.blobs.get(d.digest))?.byteLength === d.size
      return {
        target: `memory:${tag}`,
        async has(desc) {
          return holds(desc)
        },
        async heldLayers() {
          // The layers of the image the tag points at, each once: the engine skips the files they hold.
          const layers = store.images.get(tag)?.image.images.flatMap((i) => i.layers) ?? []
          return [...new Map(layers.map((l) => [l.digest, l])).values()]
        },
        async openBlob(): Promise<BlobWriter> {
          const chunks: Buffer[] = []
          let done = false
          const close = () => {
            if (!done) store.open--
            done = true
            inFlight.delete(close)
          }
          store.open++
          inFlight.add(close)
          return {
            async write(chunk) {
              if (done) throw new ModelcarError('MEMORY_WRITER_CLOSED', 'write after commit or abort')
              chunks.push(Buffer.from(chunk))
            },
            async commit(expected) {
              const bytes = Buffer.concat(chunks)
              close()
              const digest = sha256Digest(bytes)
              if (bytes.length !== expected.size || digest !== expected.digest) {
                throw new ModelcarError(
                  'BLOB_DIGEST_MISMATCH',
                  `blob has ${bytes.length} bytes and digest \`${digest}\`, expected ${expected.size} bytes and \`${expected.digest}\``,
                )
              }
              staged.set(digest, bytes)
            },
            async abort() {
              close()
            },
          }
        },
        async commit(image) {
          const needed = [...image.baseBlobs, ...image.images.flatMap((i) => i.layers)]
          const missing = needed.find((d) => !holds(d))
          if (missing) throw new ModelcarError('BLOB_MISSING', `blob \`${missing.digest}\` was never written to the memory sink`)
          for (const [digest, bytes] of staged) store.blobs.set(digest, bytes)
          staged.clear()
          for (const doc of image.documents) store.blobs.set(doc.descriptor.digest, doc.bytes)
          store.images.set(tag, { tag, root: image.root, image })
          return { ref: `memory:${tag}`, digest: image.root.digest }
        },
        async abort() {
          for (const close of [...inFlight]) close()
          staged.clear()
        },
      }
    },
  })
  return Object.assign(component, { store })
}

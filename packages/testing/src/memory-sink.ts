// Sink `memory`: blobs and committed images held in memory, for tests of sources, transforms and
// the engine. It checks what a real sink checks (sizes, digests, that an image's blobs are all
// there before it commits), so a test that passes with it has not been let off lightly.
import {
  defineSink,
  ModelcarError,
  sha256Digest,
  Type,
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

  /** A committed blob as text (manifests, configs). */
  text(digest: string): string {
    const bytes = this.blobs.get(digest)
    if (!bytes) throw new Error(`memory sink: no blob ${digest}`)
    return Buffer.from(bytes).toString('utf8')
  }
}

export const memorySinkSchema = Type.Object(
  { tag: Type.Optional(Type.String({ description: 'Tag the committed image is kept under.', default: 'latest', examples: ['latest'] })) },
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
      const tag = config.tag ?? 'latest'
      const inFlight = new Set<() => void>()
      return {
        target: `memory:${tag}`,
        async has(desc) {
          return store.blobs.get(desc.digest)?.byteLength === desc.size
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
              if (done) throw new ModelcarError('COMPONENT_FAILED', 'write after commit or abort')
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
              store.blobs.set(digest, bytes)
            },
            async abort() {
              close()
            },
          }
        },
        async commit(image) {
          for (const doc of image.documents) store.blobs.set(doc.descriptor.digest, doc.bytes)
          const needed = [...image.baseBlobs, ...image.images.flatMap((i) => i.layers)]
          const missing = needed.find((d) => !store.blobs.has(d.digest))
          if (missing) throw new ModelcarError('BLOB_MISSING', `blob \`${missing.digest}\` was never written to the memory sink`)
          store.images.set(tag, { tag, root: image.root, image })
          return { ref: `memory:${tag}`, digest: image.root.digest }
        },
        async abort() {
          for (const close of [...inFlight]) close()
        },
      }
    },
  })
  return Object.assign(component, { store })
}

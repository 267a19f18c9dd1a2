// The images the sink kit writes: real tar layers (a file each under /models) on a scratch base,
// small enough for any target, random enough that no target already holds them. Each layer is
// annotated as the engine annotates one (what it was made from), so a sink's heldLayers() can be
// checked to give those annotations back.
import { randomBytes } from 'node:crypto'
import { Annotation, editImage, encodeLayer, sha256Digest, scratchBase, type Descriptor, type EditedImage } from '@modelcar/core'

export interface KitLayer {
  bytes: Buffer
  descriptor: Descriptor
  diffId: string
}

export interface KitImage {
  image: EditedImage
  layers: KitLayer[]
}

/** One tar layer holding `content` at `name`. */
export async function kitLayer(name: string, content: Buffer): Promise<KitLayer> {
  const enc = encodeLayer([
    {
      name,
      size: content.length,
      read: async function* () {
        yield content
      },
    },
  ])
  const chunks: Buffer[] = []
  for await (const c of enc.chunks) chunks.push(Buffer.from(c))
  const r = await enc.result
  return {
    bytes: Buffer.concat(chunks),
    descriptor: { mediaType: r.mediaType, digest: r.digest, size: r.size, annotations: madeFrom(name, content) },
    diffId: r.diffId,
  }
}

/** The annotations the engine gives a layer of one file: its title and what it was made from. */
function madeFrom(name: string, content: Buffer): Record<string, string> {
  const digest = sha256Digest(content)
  return {
    [Annotation.title]: name,
    [Annotation.layerEncoding]: 'tar;compression=none;mtime=0;prefix=/;encoder=1',
    [Annotation.fileSize]: String(content.length),
    [Annotation.fileMode]: '0644',
    [Annotation.contentDigest]: digest,
    [Annotation.olotContentDigest]: digest,
    [Annotation.olotContentName]: name.split('/').pop()!,
  }
}

/** The image of `layers` on a scratch base (linux/amd64). */
export async function kitImage(layers: KitLayer[]): Promise<KitImage> {
  const image = await editImage(scratchBase(['linux/amd64']), {
    layers: layers.map((l) => ({ descriptor: l.descriptor, diffId: l.diffId, history: { created_by: 'modelcar compliance kit' } })),
    manifestAnnotations: {},
    labels: {},
  })
  return { image, layers }
}

/** Two layers: a small config and 300 KiB of random weights. */
export async function smallImage(): Promise<KitImage> {
  return kitImage([
    await kitLayer('models/config.json', Buffer.from('{"compliance":true}\n')),
    await kitLayer('models/weights.bin', randomBytes(300 * 1024)),
  ])
}

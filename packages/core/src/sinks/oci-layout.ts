// Sink `oci-layout`: an OCI image layout on disk, new or existing (then changed in place: it may
// be the base layout itself). Valid at every instant; index.json is the commit point. The image's
// ModelPack manifest may get a tag of its own there, for tools that want the bare artifact.
import fs from 'node:fs/promises'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { defineSink } from '../contract/component.js'
import { attachToLayout } from '../attach/layout-attachments.js'
import { errors } from '../errors/index.js'
import { layersOf, layoutBlobSource, loadDocuments } from '../image/base-image.js'
import { emptyIndex, ImageLayout } from '../image/image-layout.js'
import { modelPackManifestOf } from '../image/modelpack-image.js'
import { withDefault } from '../contract/config.js'
import type { EditedImage } from '../contract/image.js'
import { Annotation, MediaType, TAG_PATTERN, toOciMediaType } from '../oci/media-types.js'
import type { Descriptor, ImageIndex } from '../oci/types.js'

export const ociLayoutSinkSchema = Type.Object(
  {
    path: Type.String({
      description: 'The image layout folder, relative to the recipe. It may be the base layout: it is then changed in place.',
      examples: ['./out'],
      minLength: 1,
    }),
    tag: withDefault(
      Type.String({
        description:
          'Tag (`org.opencontainers.image.ref.name`) of the image in the layout: letters, digits, `_`, `.` and `-`, up to 128, not starting with `.` or `-`.',
        examples: ['latest', 'v1'],
        pattern: TAG_PATTERN,
      }),
      'latest',
    ),
    modelpackTag: Type.Optional(
      Type.String({
        description:
          'A second tag, for the ModelPack manifest alone (with `modelpack` in `image.formats`): tools that read model artifacts (modctl, CRI-O image volumes) take it without picking it out of the index.',
        examples: ['latest-modelpack'],
        pattern: TAG_PATTERN,
      }),
    ),
  },
  { additionalProperties: false },
)

export const ociLayoutSink = defineSink({
  type: 'oci-layout',
  description: 'Writes the image to an OCI image layout folder (new, or changed in place).',
  schema: ociLayoutSinkSchema,
  create(config, ctx) {
    const layout = new ImageLayout(path.resolve(ctx.baseDir, config.path))
    const tag = config.tag
    const modelpackTag = config.modelpackTag
    if (modelpackTag === tag)
      throw errors.componentInvalid(
        'oci-layout',
        `\`modelpackTag\` is \`tag\` (\`${tag}\`)`,
        'give the ModelPack manifest a tag of its own',
      )
    const check = async () => {
      const st = await fs.stat(layout.root).catch(() => undefined)
      if (!st) return
      if (!st.isDirectory()) throw errors.layoutInvalid(layout.root, 'it is a file', 'give a folder (it is created if missing)')
      if (await layout.exists()) {
        await layout.readIndex()
        return
      }
      const entries = await fs.readdir(layout.root)
      if (entries.length > 0 && !entries.includes('oci-layout')) {
        throw errors.layoutInvalid(
          layout.root,
          'the folder exists, is not empty and holds no image layout',
          'give a new or empty folder, so nothing of yours is overwritten',
        )
      }
    }
    return {
      target: `oci-layout:${config.path}:${tag}`,
      check,
      async prepare() {
        await check()
        await layout.prepare()
      },
      has: (desc) => layout.hasBlob(desc),
      async heldLayers() {
        if (!(await layout.exists())) return []
        const entry = (await layout.readIndex()).manifests.find((m) => m.annotations?.[Annotation.refName] === tag)
        return entry ? layersOf(await loadDocuments(layoutBlobSource(layout), entry)) : []
      },
      openBlob: ({ verify }) => layout.createBlobWriter({ verify }),
      async commit(image) {
        const modelpack = modelpackTag === undefined ? undefined : modelPackOf(image)
        // Every blob on disk under its digest before index.json names it, and none missing: an
        // index naming a blob the layout lacks is a broken layout.
        await layout.publish()
        for (const d of [...image.baseBlobs, ...image.images.flatMap((i) => i.layers)]) {
          if (!(await layout.hasBlob(d)))
            throw errors.blobMissing(d.digest, `the image layout \`${layout.root}\` (it was never written to this sink)`)
        }
        for (const doc of image.documents) await layout.putBlob(doc.bytes)
        const current = (await layout.exists()) ? await layout.readIndex() : emptyIndex()
        const next = nextIndex(current, image, tag)
        await layout.writeIndex(modelpack ? withTag(next, modelpack, modelpackTag!) : next)
        await layout.tidy()
        return { ref: `oci-layout:${config.path}:${tag}`, digest: image.root.digest }
      },
      attach: (attachments) => attachToLayout(layout, attachments),
      async abort() {
        // Blobs of the failed run were staged, never published: nothing of it stays.
        await layout.discard()
        await layout.tidy()
      },
    }
  },
})

/** The image's ModelPack manifest, for `modelpackTag`: an image without one is a mistake in the recipe. */
function modelPackOf(image: EditedImage): Descriptor {
  const manifest = modelPackManifestOf(image)
  if (!manifest)
    throw errors.componentInvalid(
      'oci-layout',
      '`modelpackTag` is set, but the image has no ModelPack manifest',
      'add `modelpack` to `image.formats`, or remove `modelpackTag`',
    )
  return manifest
}

/** index.json with `tag` on `desc`: in the place the tag had, or added at the end. */
export function withTag(index: ImageIndex, desc: Descriptor, tag: string): ImageIndex {
  const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: { [Annotation.refName]: tag } }
  const at = index.manifests.findIndex((m) => m.annotations?.[Annotation.refName] === tag)
  const manifests = at < 0 ? [...index.manifests, entry] : index.manifests.map((m, i) => (i === at ? entry : m))
  return { ...index, manifests }
}

/**
 * index.json with `tag` pointing at the new image, in the place the tag had. When the layout held
 * the base under that tag, its other root entries that the edit rewrote (oras lists platform
 * manifests beside their index) follow to their new digests; all else stays as it was.
 */
export function nextIndex(current: ImageIndex, image: EditedImage, tag: string): ImageIndex {
  const root: Descriptor = { ...image.root, annotations: { ...(image.root.annotations ?? {}), [Annotation.refName]: tag } }
  const replacingBase = current.manifests.some((m) => m.annotations?.[Annotation.refName] === tag && image.rewritten.has(m.digest))
  const manifests: Descriptor[] = []
  let placed = false
  for (const entry of current.manifests) {
    const entryTag = entry.annotations?.[Annotation.refName]
    if (entryTag === tag) {
      if (!placed) manifests.push(root)
      placed = true
      continue
    }
    const moved = entryTag ? undefined : image.rewritten.get(entry.digest)
    if (moved && moved.digest === image.root.digest && !placed) {
      // The base was an untagged image of this layout: the new image takes its place.
      manifests.push(root)
      placed = true
      continue
    }
    if (moved && !replacingBase) {
      manifests.push(entry)
      continue
    }
    manifests.push(moved ? { ...entry, mediaType: toOciMediaType(entry.mediaType), digest: moved.digest, size: moved.size } : entry)
  }
  if (!placed) manifests.push(root)
  return { ...current, schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }
}

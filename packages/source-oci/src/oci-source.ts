// Source `oci`: the files of a model artifact — CNCF ModelPack (`cncf` and the older `cnai`
// media types; raw and tar layers, plain, gzip or zstd), a Docker model, a KitOps ModelKit — in an
// image layout or a registry, streamed into Modelcar layers. Listing reads documents and tar
// headers only; every byte read is checked against the digest the artifact gives it; nothing is
// written to local disk.
import path from 'node:path'
import {
  defineSource,
  joinModelPath,
  selectFiles,
  splitLayoutRef,
  Type,
  withDefault,
  type ComponentContext,
  type ModelFile,
} from '@modelcar/core'
import { formatImageReference, parseImageReference } from '@modelcar/registry'
import { ociErrors } from './errors/oci-errors.js'
import { VerifiedLayers } from './files/tar-layer.js'
import { artifactAnnotations } from './listing/artifact-annotations.js'
import { listArtifact } from './listing/list-artifact.js'
import type { BlobStore } from './store/blob-store.js'
import { layoutStore } from './store/layout-store.js'
import { registryStore } from './store/registry-store.js'

export const ociSourceSchema = Type.Object(
  {
    ref: Type.String({
      description:
        'The model artifact: `oci-layout:PATH[:TAG]` (an image layout folder, relative to the recipe; without a tag, its only image) or `registry:HOST/REPO[:TAG|@sha256:…]` (credentials from the files podman and Docker use). An index is read for the one model artifact it holds.',
      pattern: '^(oci-layout|registry):.+$',
      examples: ['registry:quay.io/org/granite-modelpack:v1', 'oci-layout:./artifact:latest'],
    }),
    insecure: withDefault(
      Type.Boolean({ description: 'Speak plain HTTP to the registry (loopback registries always get it).', examples: [true] }),
      false,
    ),
    include: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Globs of files to take (all when absent); a pattern without `/` matches file names in any folder.',
        examples: [['*.safetensors', '*.json']],
      }),
    ),
    exclude: Type.Optional(Type.Array(Type.String(), { description: 'Globs of files to leave out.', examples: [['*.gguf']] })),
    into: Type.Optional(Type.String({ description: 'Sub-folder under the image prefix to put the files in.', examples: ['granite'] })),
    modelcard: withDefault(
      Type.Union([Type.Boolean(), Type.String()], {
        description:
          'The artifact file that becomes the model card layer (`true` = README.md, `false` = none). A `modelcard` transform overrides it.',
        examples: [true, 'README.md'],
      }),
      true,
    ),
  },
  { additionalProperties: false },
)

export const ociSource = defineSource({
  type: 'oci',
  description:
    'Files of a model artifact (CNCF ModelPack, Docker model, KitOps ModelKit) in an image layout or a registry, digest-checked while they stream.',
  schema: ociSourceSchema,
  create(config, ctx) {
    const { store, reference } = storeOf(config.ref, config.insecure, ctx)
    const verified = new VerifiedLayers()
    let annotations: Record<string, string> = {}
    let listed: ModelFile[] = []
    return {
      async *list() {
        const artifact = await listArtifact(store, { verified, ctx })
        // Globs match paths in the artifact; `into` places the chosen files.
        listed = selectFiles(
          artifact.files.map((f) => f.file),
          { include: config.include, exclude: config.exclude, path: (f) => f.path, where: `\`${store.name}\`` },
        ).map((f) => (config.into ? { ...f, path: joinModelPath(config.into, f.path) } : f))
        annotations = await artifactAnnotations(store, artifact.model, reference)
        yield* listed
      },
      annotations: () => annotations,
      modelcard() {
        const card = config.modelcard === true ? 'README.md' : config.modelcard || undefined
        return card ? listed.find((f) => f.path === joinModelPath(config.into, card))?.path : undefined
      },
    }
  },
})

/** The store a ref names, and the registry reference for the image's annotations (none for a layout). */
function storeOf(ref: string, insecure: boolean, ctx: ComponentContext): { store: BlobStore; reference: string | undefined } {
  const colon = ref.indexOf(':')
  const scheme = ref.slice(0, colon)
  const rest = ref.slice(colon + 1)
  if (scheme === 'oci-layout') {
    const { path: folder, tag } = splitLayoutRef(rest)
    if (!folder) throw ociErrors.refInvalid(ref, 'names no folder')
    return { store: layoutStore(ref, path.resolve(ctx.baseDir, folder), tag), reference: undefined }
  }
  const r = parseImageReference(rest)
  if (scheme !== 'registry' || !r) throw ociErrors.refInvalid(ref, scheme === 'registry' ? 'is not an image reference' : 'names no store')
  const reference = formatImageReference(r)
  return { store: registryStore(`registry:${reference}`, r, insecure, ctx), reference }
}

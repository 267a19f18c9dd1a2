// Base `oci-layout`: an image in an OCI image layout folder (skopeo's, umoci's or oras's), by tag,
// or the only image there. `base: oci-layout:PATH[:TAG]`.
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { defineBase } from '../contract/component.js'
import { loadLayoutBase } from '../image/base-image.js'
import { TAG_PATTERN } from '../oci/media-types.js'

export const ociLayoutBaseSchema = Type.Object(
  {
    path: Type.String({ description: 'The image layout folder, relative to the recipe.', minLength: 1, examples: ['./download'] }),
    tag: Type.Optional(
      Type.String({
        description: 'The image’s tag in the layout (`org.opencontainers.image.ref.name`). Default: the only image there.',
        pattern: TAG_PATTERN,
        examples: ['latest', '1.36'],
      }),
    ),
  },
  { additionalProperties: false },
)

const TAG_RE = new RegExp(TAG_PATTERN)

/** `./out:latest` → path `./out`, tag `latest`; a last `:` part that is not a tag stays in the path. */
export function splitLayoutRef(ref: string): { path: string; tag: string | undefined } {
  const i = ref.lastIndexOf(':')
  if (i > 0) {
    const tag = ref.slice(i + 1)
    if (TAG_RE.test(tag)) return { path: ref.slice(0, i), tag }
  }
  return { path: ref, tag: undefined }
}

export const ociLayoutBase = defineBase({
  type: 'oci-layout',
  description: 'An image from an OCI image layout folder, by tag (or the only one there).',
  schema: ociLayoutBaseSchema,
  shortForm: 'oci-layout:PATH[:TAG]',
  fromText(text) {
    const { path: p, tag } = splitLayoutRef(text)
    if (!p) return { problem: 'no folder is named', hint: 'write `oci-layout:PATH[:TAG]`, e.g. `oci-layout:./download:latest`' }
    return tag === undefined ? { path: p } : { path: p, tag }
  },
  create(config, ctx) {
    const name = `oci-layout:${config.path}${config.tag === undefined ? '' : `:${config.tag}`}`
    return { load: () => loadLayoutBase(path.resolve(ctx.baseDir, config.path), config.tag, name) }
  },
})

// Transform `modelcard`: one file becomes the model card ("ModelCarD") layer that Open Data Hub
// finds through the manifest annotation `io.opendatahub.layers.modelcard`.
import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { defineTransform } from '../contract/component.js'
import { withDefault } from '../contract/config.js'
import { errors } from '../errors/index.js'
import { safeModelPath } from '../files/model-path.js'

export const modelcardSchema = Type.Object(
  {
    file: Type.String({
      description:
        'The model card: a path in the model (as the sources list it), or else a local file relative to the recipe, stored at the model root under its name.',
      default: 'README.md',
      examples: ['README.md'],
    }),
    compression: withDefault(
      Type.Union([Type.Literal('none'), Type.Literal('gzip'), Type.Literal('zstd')], {
        description: 'Compression of the model card layer (text compresses well).',
        examples: ['gzip'],
      }),
      'gzip',
    ),
    required: withDefault(
      Type.Boolean({
        description: 'Fail when the file is missing (otherwise the image simply has no model card).',
        examples: [true],
      }),
      true,
    ),
  },
  { additionalProperties: false },
)

/** The card as a model path, or undefined when it can only be a local file (absolute, `../`). */
function asModelPath(file: string): string | undefined {
  try {
    return safeModelPath(file, 'model card')
  } catch {
    return undefined
  }
}

export const modelcardTransform = defineTransform({
  type: 'modelcard',
  description: 'Puts the model card (README.md) in a layer of its own, annotated for Open Data Hub.',
  schema: modelcardSchema,
  create(config, ctx) {
    return {
      async apply(plan) {
        const wanted = asModelPath(config.file)
        const files = plan.files.map((f) => ({ ...f, modelcard: false }))
        const hit = wanted === undefined ? undefined : (files.find((f) => f.target === wanted) ?? files.find((f) => f.file.path === wanted))
        if (hit) {
          hit.modelcard = true
          return { ...plan, files, modelcardCompression: config.compression }
        }
        const local = path.resolve(ctx.baseDir, config.file)
        const st = await fs.stat(local).catch(() => undefined)
        if (!st?.isFile()) {
          if (config.required === false) return plan
          throw errors.sourcePathMissing(
            config.file,
            `it is neither a model file (${plan.files.length} listed) nor a file next to the recipe; set \`required: false\` to allow a model without a card`,
          )
        }
        const target = path.basename(local)
        if (files.some((f) => f.target === target)) throw errors.pathCollision(target, `the model card \`${config.file}\``, 'a model file')
        files.push({
          target,
          source: 'modelcard',
          modelcard: true,
          file: {
            path: target,
            size: st.size,
            open: async (opts = {}) => createReadStream(local, { start: opts.start ?? 0, signal: opts.signal }),
          },
        })
        return { ...plan, files, modelcardCompression: config.compression }
      },
    }
  },
})

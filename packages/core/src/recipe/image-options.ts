// The recipe's `image:` as the engine takes it (every default filled in), and what its fields
// rule out together with the rest of the recipe: a base or platforms for an artifact that has
// neither, raw layers beside a Modelcar, ModelPack fields with no ModelPack to write.
import { Value } from '@sinclair/typebox/value'
import type { Compression } from '../contract/plan.js'
import type { ModelPackDescriptor, ModelPackModelConfig } from '../modelpack/config-schema.js'
import type { RecipeProblems } from './recipe-problems.js'
import { ImageSchema, type ImageFormat, type ModelPackOptions } from './recipe-schema.js'

export interface ImageOptions {
  prefix: string
  compression: Compression
  formats: ImageFormat[]
  modelpack: {
    layers: 'tar' | 'raw'
    descriptor?: ModelPackDescriptor
    config?: ModelPackModelConfig
  }
}

/** `image:` as a Recipe holds it: callers that build a recipe in code may leave out what has a default. */
export type RecipeImage = Pick<ImageOptions, 'prefix' | 'compression'> & Partial<Pick<ImageOptions, 'formats' | 'modelpack'>>

type ImageDocument = { prefix?: string; compression?: Compression; formats?: ImageFormat[]; modelpack?: ModelPackOptions }

/** `image:` (as written, or as a Recipe holds it) with its defaults. */
export function imageOptionsOf(image: unknown): ImageOptions {
  const i = (image ?? {}) as ImageDocument
  const mp = i.modelpack ?? {}
  return {
    prefix: i.prefix ?? '/models',
    compression: i.compression ?? 'none',
    formats: i.formats ?? ['modelcar'],
    modelpack: {
      layers: mp.layers ?? 'tar',
      ...(mp.descriptor ? { descriptor: mp.descriptor } : {}),
      ...(mp.config ? { config: mp.config } : {}),
    },
  }
}

/**
 * Problems of `image:` (as written) with the rest of the recipe: `baseType` is the base's
 * component type, `platforms` whether the recipe names platforms.
 */
export function checkImageOptions(
  written: unknown,
  recipe: { baseType: string | undefined; platforms: boolean },
  problems: RecipeProblems,
): void {
  // A section the schema refused is reported already; what it would say here is the same mistake.
  if (written !== undefined && !Value.Check(ImageSchema, written)) return
  const image = imageOptionsOf(written)
  const modelcar = image.formats.includes('modelcar')
  const given = (written ?? {}) as ImageDocument
  const { baseType } = recipe
  if (!modelcar && baseType !== undefined && baseType !== 'scratch')
    problems.at(
      ['base'],
      '`base` does not apply to `image.formats: [modelpack]`: the ModelPack artifact alone goes on no base image',
      'remove `base`, or add `modelcar` to `image.formats` for a runnable image on it',
    )
  // With another base, `platforms` is refused already, for that base.
  if (!modelcar && recipe.platforms && (baseType === undefined || baseType === 'scratch'))
    problems.at(
      ['platforms'],
      '`platforms` does not apply to `image.formats: [modelpack]`: the artifact has no platform',
      'remove `platforms`',
      true,
    )
  if (given.modelpack !== undefined && !image.formats.includes('modelpack'))
    problems.at(
      ['image', 'modelpack'],
      '`image.modelpack` applies only when `image.formats` has `modelpack`',
      'add `modelpack` to `image.formats`, or remove `image.modelpack`',
      true,
    )
  else if (modelcar && image.modelpack.layers === 'raw')
    problems.at(
      ['image', 'modelpack', 'layers'],
      '`layers: raw` needs `image.formats: [modelpack]`: the Modelcar’s layers are tar, and raw copies beside them would store every file twice',
      'use `layers: tar` (the artifact then shares the Modelcar’s layers), or `formats: [modelpack]`',
    )
}

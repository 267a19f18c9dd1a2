// Transform `layers`: how files are grouped into layers.
import { Type } from '@sinclair/typebox'
import { defineTransform } from '../contract/component.js'
import { withDefault } from '../contract/config.js'
import { DEFAULT_MAX_LAYERS } from '../contract/plan.js'
import { BYTE_SIZE_PATTERN, parseByteSize } from '../recipe/byte-size.js'

export const layersSchema = Type.Object(
  {
    strategy: withDefault(
      Type.Union([Type.Literal('per-file'), Type.Literal('grouped')], {
        description:
          '`per-file`: one layer per file (weights dedupe and pull in parallel). `grouped`: files below `groupBelow` share one layer.',
        examples: ['grouped'],
      }),
      'per-file',
    ),
    groupBelow: withDefault(
      Type.Union([Type.String({ pattern: BYTE_SIZE_PATTERN }), Type.Integer({ minimum: 0 })], {
        description: 'With `grouped`: files smaller than this share a layer (bytes, or with a unit: `64KiB`, `1MiB`).',
        examples: ['1MiB'],
      }),
      '1MiB',
    ),
    maxLayers: withDefault(
      Type.Integer({
        description:
          'Most layers the image may have in total, base included; above it small files are grouped automatically. overlayfs mounts at most 128.',
        minimum: 2,
        maximum: 1000,
        examples: [DEFAULT_MAX_LAYERS],
      }),
      DEFAULT_MAX_LAYERS,
    ),
  },
  { additionalProperties: false },
)

export const layersTransform = defineTransform({
  type: 'layers',
  description: 'Chooses how files are grouped into layers (per file, or small files together).',
  schema: layersSchema,
  create(config) {
    return {
      apply: (plan) => ({
        ...plan,
        layering: {
          strategy: config.strategy,
          groupBelowBytes: parseByteSize(config.groupBelow) ?? 1 << 20,
          maxLayers: config.maxLayers,
        },
      }),
    }
  },
})

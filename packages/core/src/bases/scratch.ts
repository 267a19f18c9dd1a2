// Base `scratch`: no base image. The model's layers make the whole image, one per platform of the
// recipe's `platforms`.
import { Type } from '@sinclair/typebox'
import { defineBase } from '../contract/component.js'
import { scratchBase } from '../image/base-image.js'

export const scratchBaseSchema = Type.Object({}, { additionalProperties: false })

export const scratchBaseComponent = defineBase({
  type: 'scratch',
  description:
    'No base image: the model layers alone, for each platform of `platforms` (an ImageVolume, or an image a tool adds layers to later).',
  schema: scratchBaseSchema,
  shortForm: 'scratch',
  fromText: (text) => (text === '' ? {} : { problem: '`scratch` takes nothing after it', hint: 'write `base: scratch`' }),
  create: () => ({ load: async ({ platforms }) => scratchBase(platforms) }),
})

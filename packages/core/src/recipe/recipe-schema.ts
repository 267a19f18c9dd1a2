// The recipe's own fields (everything but the components' configs), as a schema that validates
// and documents them.
import { Type, type Static } from '@sinclair/typebox'

export const API_VERSION = 'modelcar/v1'

export const ComponentEntrySchema = Type.Object(
  {
    type: Type.String({
      description:
        'The component: an official short name (`local`, `hf`, `oci-layout`, …), an npm package, or a bare name looked up as `modelcar-<kind>-<name>`.',
      examples: ['local'],
    }),
  },
  { additionalProperties: true },
)

export const ImageSchema = Type.Object(
  {
    prefix: Type.Optional(
      Type.String({
        description: 'Absolute folder in the image the model goes to, starting with `/` (KServe expects `/models`).',
        default: '/models',
        examples: ['/models'],
        pattern: '^/',
      }),
    ),
    compression: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('gzip'), Type.Literal('zstd')], {
        description:
          'Compression of model layers. Weights do not compress and uncompressed layers unpack in parallel, so `none` is the default; `gzip`/`zstd` pay off only for text.',
        default: 'none',
        examples: ['none'],
      }),
    ),
  },
  { additionalProperties: false, description: 'How the model is laid out in the image.' },
)

export const RecipeSchema = Type.Object(
  {
    apiVersion: Type.Literal(API_VERSION, {
      description: `Recipe format version; this modelcar reads \`${API_VERSION}\`.`,
      examples: [API_VERSION],
    }),
    base: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), ComponentEntrySchema], {
        description:
          'The image the model goes on top of: `scratch`, `oci-layout:PATH[:TAG]`, `registry:HOST/REPO[:TAG|@sha256:…]` (the short form `TYPE:TEXT` of a base component), or a mapping with `type:` and the base’s fields.',
        default: 'scratch',
        examples: ['oci-layout:./download:latest', 'scratch', 'registry:quay.io/org/busybox:1.36'],
      }),
    ),
    platforms: Type.Optional(
      Type.Array(
        Type.String({
          description: 'OS/architecture[/variant], as in image indexes.',
          pattern: '^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$',
          examples: ['linux/amd64', 'linux/arm64/v8'],
        }),
        {
          description: 'Platforms of a `scratch` image (a base image brings its own).',
          default: ['linux/amd64'],
          examples: [['linux/amd64', 'linux/arm64']],
          minItems: 1,
          uniqueItems: true,
        },
      ),
    ),
    sources: Type.Array(ComponentEntrySchema, {
      description: 'Where model files come from.',
      minItems: 1,
      examples: [[{ type: 'local', path: './model' }]],
    }),
    transforms: Type.Optional(
      Type.Array(ComponentEntrySchema, { description: 'Steps that shape the plan: model card, annotations, layering.', default: [] }),
    ),
    image: Type.Optional(ImageSchema),
    sinks: Type.Array(ComponentEntrySchema, {
      description: 'Where the image goes.',
      minItems: 1,
      examples: [[{ type: 'oci-layout', path: './out' }]],
    }),
  },
  { additionalProperties: false },
)

export type RecipeDocument = Static<typeof RecipeSchema>

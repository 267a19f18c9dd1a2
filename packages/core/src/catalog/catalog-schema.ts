// The catalogue's own fields: a `template` of recipe fields every model shares, and `models`, each
// with its source and what it sets differently. Components inside are checked by the recipe
// checker, once per model, against their own schemas.
import { Type } from '@sinclair/typebox'
import { API_VERSION, ComponentEntrySchema, RecipeSchema } from '../recipe/recipe-schema.js'

const recipe = RecipeSchema.properties

/** Names used in refs: lower case, as registries want repository names. */
export const MODEL_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,127}$'

export const TemplateSchema = Type.Object(
  {
    base: recipe.base,
    platforms: recipe.platforms,
    transforms: recipe.transforms,
    image: recipe.image,
    sinks: Type.Optional(recipe.sinks),
  },
  {
    additionalProperties: false,
    description:
      'Recipe fields every model shares (all but `sources`). Strings may hold `{name}`, `{repo}`, `{revision}`, `{tag}` and `{commit}`.',
  },
)

export const CatalogModelSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        description:
          'The model’s name, for `{name}`, `--only` and messages. Default: from the source (the Hub repo’s name, the S3 prefix’s last folder, the local folder’s name).',
        pattern: MODEL_NAME_PATTERN,
        examples: ['granite-2b'],
      }),
    ),
    source: Type.Object(ComponentEntrySchema.properties, {
      additionalProperties: true,
      description: 'Where the model’s files come from: a source entry, as under a recipe’s `sources`.',
    }),
    tags: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$' }), {
        description: 'Tags to push: each sink whose text holds `{tag}` is written once per tag. Default: one, the revision.',
        minItems: 1,
        uniqueItems: true,
        examples: [['2b', 'latest']],
      }),
    ),
    base: recipe.base,
    platforms: recipe.platforms,
    transforms: Type.Optional(Type.Array(ComponentEntrySchema, { description: 'Replaces the template’s transforms for this model.' })),
    image: recipe.image,
    sinks: Type.Optional(Type.Array(ComponentEntrySchema, { description: 'Replaces the template’s sinks for this model.', minItems: 1 })),
  },
  { additionalProperties: false },
)

export const CatalogSchema = Type.Object(
  {
    apiVersion: recipe.apiVersion,
    kind: Type.Literal('Catalog', { description: 'Says the file is a catalogue (a recipe has no `kind`).' }),
    template: Type.Optional(TemplateSchema),
    models: Type.Array(CatalogModelSchema, { description: 'The models to mirror.', minItems: 1 }),
  },
  { additionalProperties: false },
)

export { API_VERSION }

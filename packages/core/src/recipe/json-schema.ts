// The JSON Schema of recipes (`modelcar schema`), built from the recipe schema and the schema of
// every registered component, so editors complete and check recipes.
import type { TSchema } from '@sinclair/typebox'
import type { ComponentKind } from '../contract/component.js'
import type { ComponentRegistry } from '../contract/registry.js'
import { RecipeSchema } from './recipe-schema.js'

export function recipeJsonSchema(registry: ComponentRegistry): Record<string, unknown> {
  const entriesOf = (kind: ComponentKind) => {
    const official = registry.list(kind)
    const variants: unknown[] = official.map((c) => {
      const schema = c.schema as TSchema & { properties?: Record<string, unknown>; required?: string[] }
      return {
        type: 'object',
        title: `${kind} \`${c.type}\``,
        description: c.description,
        properties: { type: { const: c.type, description: c.description }, ...strip(schema.properties ?? {}) },
        required: ['type', ...(schema.required ?? [])],
        additionalProperties: false,
      }
    })
    variants.push({
      type: 'object',
      title: `${kind} from a plugin package`,
      description: `A ${kind} from an npm package: \`@scope/name\`, or a bare name looked up as \`modelcar-${kind}-<name>\`.`,
      properties: { type: { type: 'string', not: { enum: official.map((c) => c.type) } } },
      required: ['type'],
    })
    return { type: 'array', items: { oneOf: variants } }
  }
  const recipe = strip(RecipeSchema) as { properties: Record<string, Record<string, unknown>> }
  const { anyOf: _anyOf, ...baseField } = recipe.properties.base!
  const bases = registry.list('base')
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'modelcar recipe',
    ...recipe,
    properties: {
      ...recipe.properties,
      base: {
        ...baseField,
        anyOf: [
          {
            type: 'string',
            description: `The short form: ${bases.map((b) => `\`${b.shortForm}\``).join(', ')}, or a plugin base's \`TYPE:TEXT\`.`,
            minLength: 1,
          },
          entriesOf('base').items,
        ],
      },
      sources: { ...recipe.properties.sources, ...entriesOf('source') },
      transforms: { ...recipe.properties.transforms, ...entriesOf('transform') },
      sinks: { ...recipe.properties.sinks, ...entriesOf('sink') },
    },
  }
}

/** A plain JSON copy without TypeBox's symbol keys. */
function strip<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema)) as T
}

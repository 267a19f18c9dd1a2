// The JSON Schema of recipes (`modelcar schema`), built from the recipe schema and the schema of
// every registered component, so editors complete and check recipes.
import type { TSchema } from '@sinclair/typebox'
import type { ComponentKind } from '../components/define.js'
import type { ComponentRegistry } from '../components/registry.js'
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
  const base = strip(RecipeSchema) as { properties: Record<string, Record<string, unknown>> }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'modelcar recipe',
    ...base,
    properties: {
      ...base.properties,
      sources: { ...base.properties.sources, ...entriesOf('source') },
      transforms: { ...base.properties.transforms, ...entriesOf('transform') },
      sinks: { ...base.properties.sinks, ...entriesOf('sink') },
    },
  }
}

/** A plain JSON copy without TypeBox's symbol keys. */
function strip<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema)) as T
}

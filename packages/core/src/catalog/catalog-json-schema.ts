// The JSON Schema of catalogues (`modelcar schema --catalog`), from the recipe's: the same
// component entries in the template and in each model, for editor completion.
import type { ComponentRegistry } from '../contract/registry.js'
import { recipeJsonSchema } from '../recipe/json-schema.js'
import { CatalogSchema } from './catalog-schema.js'

export function catalogJsonSchema(registry: ComponentRegistry): Record<string, unknown> {
  const recipe = recipeJsonSchema(registry) as { properties: Record<string, Record<string, unknown>> }
  const own = JSON.parse(JSON.stringify(CatalogSchema)) as {
    properties: Record<string, { properties?: Record<string, unknown>; items?: { properties: Record<string, unknown> } }>
  }
  const r = recipe.properties
  const template = own.properties.template!
  const model = own.properties.models!.items!
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'modelcar catalogue',
    ...own,
    properties: {
      ...own.properties,
      template: {
        ...template,
        properties: { base: r.base, platforms: r.platforms, transforms: r.transforms, image: r.image, sinks: r.sinks },
      },
      models: {
        ...own.properties.models,
        items: {
          ...model,
          properties: {
            ...model.properties,
            source: (r.sources as { items: unknown }).items,
            base: r.base,
            platforms: r.platforms,
            transforms: r.transforms,
            image: r.image,
            sinks: r.sinks,
          },
        },
      },
    },
  }
}

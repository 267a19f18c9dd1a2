// `modelcar schema [RECIPE | CATALOG] [--catalog]`: the JSON Schema of recipes (or catalogues), for
// editors. With a file, the plugins it names (sources, transforms, sinks, bases) are resolved from
// its folder, as `run` does, and their config schemas included; a catalogue file gets the
// catalogue schema.
import path from 'node:path'
import { catalogJsonSchema, errors, isCatalogText, namedComponents, recipeJsonSchema, type ComponentRegistry } from '@modelcar/core'
import { defineCommand } from '../command-line/define-command.js'
import { officialRegistry } from '../components/official-components.js'
import { pluginResolver } from '../components/resolve-plugin.js'
import { readRecipeText } from './recipe-file.js'

export const schemaCommand = defineCommand({
  name: 'schema',
  usage: 'schema [RECIPE | CATALOG] [--catalog]',
  summary: 'print the JSON Schema of recipes, or of catalogues (with a file: including the plugins it names)',
  options: { catalog: { type: 'boolean' } },
  async run({ values, positionals }, { output, usageError }) {
    if (positionals.length > 1) throw usageError('one file at a time')
    const registry = officialRegistry()
    let catalog = values.catalog === true
    if (positionals[0]) catalog = (await addPluginsOf(positionals[0], registry)) || catalog
    output.write(`${JSON.stringify(catalog ? catalogJsonSchema(registry) : recipeJsonSchema(registry), null, 2)}\n`)
  },
})

/** Registers every plugin component `file` names, under the name it uses (what the editor sees in `type:`); true for a catalogue. */
async function addPluginsOf(file: string, registry: ComponentRegistry): Promise<boolean> {
  const text = await readRecipeText(file)
  const dir = path.dirname(path.resolve(file))
  for (const { kind, type } of namedComponents(text)) {
    if (registry.get(kind, type)) continue
    const found = await pluginResolver.resolve(kind, type, dir)
    if (!found) {
      const installed = pluginResolver.installed?.(kind, dir) ?? []
      const also = installed.length ? `; installed ${kind} plugins: ${installed.map((t) => `\`${t}\``).join(', ')}` : ''
      throw errors.componentUnknown(type, kind, `${pluginResolver.missingHint(kind, type, dir)}${also}`)
    }
    registry.register({ ...found.component, type })
  }
  return isCatalogText(text)
}

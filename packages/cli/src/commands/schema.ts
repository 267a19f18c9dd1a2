// `modelcar schema [RECIPE]`: the JSON Schema of recipes, for editors. With a recipe, the plugins
// it names (sources, transforms, sinks and its base) are resolved from its folder, as `run` does,
// and their config schemas included.
import path from 'node:path'
import { errors, namedComponents, recipeJsonSchema, type ComponentRegistry } from '@modelcar/core'
import { defineCommand } from '../command-line/define-command.js'
import { officialRegistry } from '../components/official-components.js'
import { pluginResolver } from '../components/resolve-plugin.js'
import { readRecipeText } from './recipe-file.js'

export const schemaCommand = defineCommand({
  name: 'schema',
  usage: 'schema [RECIPE]',
  summary: 'print the JSON Schema of recipes (with RECIPE: including the plugins it names)',
  options: {},
  async run({ positionals }, { output, usageError }) {
    if (positionals.length > 1) throw usageError('one recipe at a time')
    const registry = officialRegistry()
    if (positionals[0]) await addPluginsOf(positionals[0], registry)
    output.write(`${JSON.stringify(recipeJsonSchema(registry), null, 2)}\n`)
  },
})

/** Registers every plugin component recipe `file` names, under the name it uses (what the editor sees in `type:`). */
async function addPluginsOf(file: string, registry: ComponentRegistry): Promise<void> {
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
}

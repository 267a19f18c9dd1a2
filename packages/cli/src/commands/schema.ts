// `modelcar schema [RECIPE]`: the JSON Schema of recipes, for editors. With a recipe, the plugins
// it names are resolved (from its folder, as `run` does) and their config schemas included.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { errors, namedComponents, recipeJsonSchema } from '@modelcar/core'
import { pluginPackageName } from '../official-components.js'
import { parse } from '../args.js'
import type { Command } from '../main.js'
import { officialRegistry } from '../official-components.js'
import { Output } from '../output.js'
import { resolvePlugin } from '../resolve-plugin.js'

const USAGE = 'schema [RECIPE]'

export const schemaCommand: Command = {
  name: 'schema',
  usage: USAGE,
  summary: 'print the JSON Schema of recipes (with RECIPE: including the plugins it names)',
  async run(argv, env) {
    const output = new Output(false, env)
    try {
      const args = parse(argv, {}, USAGE)
      if (args.values.help) return (output.print(`usage: modelcar ${USAGE}`), 0)
      if (args.positionals.length > 1) throw errors.argumentInvalid('one recipe at a time', `usage: modelcar ${USAGE}`)
      const registry = officialRegistry()
      const file = args.positionals[0]
      if (file) {
        let text: string
        try {
          text = await readFile(file, 'utf8')
        } catch {
          throw errors.argumentInvalid(`recipe \`${file}\` cannot be read`, `usage: modelcar ${USAGE}`)
        }
        const dir = path.dirname(path.resolve(file))
        for (const { kind, type } of namedComponents(text)) {
          if (registry.get(kind, type)) continue
          const found = await resolvePlugin(kind, type, dir)
          if (!found)
            throw errors.componentUnknown(
              type,
              kind,
              `a plugin is installed with \`npm install ${pluginPackageName(kind, type)}\` (run it in \`${dir}\`)`,
            )
          // Under the name the recipe uses, which is what the editor will see in `type:`.
          registry.register({ ...found.component, type })
        }
      }
      output.write(`${JSON.stringify(recipeJsonSchema(registry), null, 2)}\n`)
      return 0
    } catch (err) {
      return output.error(err)
    }
  },
}

// `modelcar schema`: the JSON Schema of recipes, for editors.
import { recipeJsonSchema } from '@modelcar/core'
import { parse } from '../args.js'
import type { Command } from '../main.js'
import { officialRegistry } from '../official-components.js'
import { Output } from '../output.js'

export const schemaCommand: Command = {
  name: 'schema',
  usage: 'schema',
  summary: 'print the JSON Schema of recipes',
  async run(argv, env) {
    const output = new Output(false, env)
    try {
      parse(argv, {}, 'schema')
      output.write(`${JSON.stringify(recipeJsonSchema(officialRegistry()), null, 2)}\n`)
      return 0
    } catch (err) {
      return output.error(err)
    }
  },
}

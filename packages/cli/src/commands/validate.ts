// `modelcar validate RECIPE`: checks the recipe, resolves its components, and runs the sinks'
// cheap checks, without moving any model byte.
import { runRecipe } from '@modelcar/core'
import { setOverrides } from '../command-line/args.js'
import { defineCommand } from '../command-line/define-command.js'
import { loadRecipeFile } from './recipe-file.js'

export const validateCommand = defineCommand({
  name: 'validate',
  usage: 'validate RECIPE [--json] [--set key=value]...',
  summary: 'check a recipe, its components, base and sinks (no model bytes)',
  options: { json: { type: 'boolean' }, set: { type: 'string', multiple: true } },
  async run({ values, positionals }, { output, env, usageError }) {
    const [file] = positionals
    if (!file || positionals.length > 1) throw usageError('give one recipe file')
    const recipe = await loadRecipeFile(file, env, setOverrides(values.set))
    // A dry run creates every component, runs the sinks' checks, reads the base and lists the files.
    const result = await runRecipe(recipe, { env, onSecret: (v) => output.addSecret(v), dryRun: true })
    const files = result.plan.files.length
    output.event({ type: 'valid', file, base: recipe.baseText, files, layers: result.layers.length, bytes: result.bytes })
    output.print(`${file}: valid (${files} files in ${result.layers.length} layers), base: ${recipe.baseText}`)
  },
})

// `modelcar validate RECIPE`: checks the recipe, resolves its components, and runs the sinks'
// cheap checks, without moving any model byte.
import { errors, loadRecipe, runRecipe } from '@modelcar/core'
import { opt, parse, setOverrides } from '../args.js'
import type { Command } from '../main.js'
import { officialRegistry } from '../official-components.js'
import { Output } from '../output.js'
import { pluginResolver } from '../resolve-plugin.js'

const USAGE = 'validate RECIPE [--json] [--set key=value]...'

export const validateCommand: Command = {
  name: 'validate',
  usage: USAGE,
  summary: 'check a recipe, its components, base and sinks (no model bytes)',
  async run(argv, env) {
    let output = new Output(argv.includes('--json'), env)
    try {
      const args = parse(argv, { json: { type: 'boolean' }, set: { type: 'string', multiple: true } }, USAGE)
      if (opt.flag(args, 'help')) return (output.print(`usage: modelcar ${USAGE}`), 0)
      output = new Output(!!opt.flag(args, 'json'), env)
      const [file] = args.positionals
      if (!file || args.positionals.length > 1) throw errors.argumentInvalid('give one recipe file', `usage: modelcar ${USAGE}`)
      const recipe = await loadRecipe(file, {
        registry: officialRegistry(),
        env,
        overrides: setOverrides(opt.list(args, 'set')),
        resolver: pluginResolver,
      })
      // A dry run creates every component, runs the sinks' checks, reads the base and lists the files.
      const result = await runRecipe(recipe, { env, onSecret: (v) => output.addSecret(v), dryRun: true })
      output.event({ type: 'valid', file, files: result.plan.files.length, layers: result.layers.length, bytes: result.bytes })
      output.print(`${file}: valid (${result.plan.files.length} files in ${result.layers.length} layers)`)
      return 0
    } catch (err) {
      return output.error(err)
    }
  },
}

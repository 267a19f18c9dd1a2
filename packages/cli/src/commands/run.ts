// `modelcar run RECIPE [--dry-run] [--json] [--set k=v]`: runs the pipeline.
import { errors, formatBytes, loadRecipe, runRecipe } from '@modelcar/core'
import { opt, parse, setOverrides } from '../args.js'
import type { Command } from '../main.js'
import { officialRegistry } from '../official-components.js'
import { Output } from '../output.js'
import { ProgressView } from '../progress-view.js'
import { pluginResolver } from '../resolve-plugin.js'

const USAGE = 'run RECIPE [--dry-run] [--json] [--set key=value]... [--concurrency N]'

export const runCommand: Command = {
  name: 'run',
  usage: USAGE,
  summary: 'run a recipe: sources → layers → sinks',
  async run(argv, env) {
    let output = new Output(argv.includes('--json'), env)
    try {
      const args = parse(
        argv,
        {
          'dry-run': { type: 'boolean' },
          json: { type: 'boolean' },
          set: { type: 'string', multiple: true },
          concurrency: { type: 'string' },
        },
        USAGE,
      )
      if (opt.flag(args, 'help')) return (output.print(`usage: modelcar ${USAGE}`), 0)
      output = new Output(!!opt.flag(args, 'json'), env)
      const file = one(args.positionals)
      const concurrency = opt.str(args, 'concurrency') === undefined ? undefined : Number(opt.str(args, 'concurrency'))
      if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1))
        throw argErr(`--concurrency \`${opt.str(args, 'concurrency')}\` is not a positive whole number`)
      const registry = officialRegistry()
      const recipe = await loadRecipe(file, { registry, env, overrides: setOverrides(opt.list(args, 'set')), resolver: pluginResolver })
      const view = new ProgressView(output)
      const controller = new AbortController()
      const stop = () => controller.abort(new Error('interrupted'))
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      try {
        const result = await runRecipe(recipe, {
          env,
          onSecret: (v) => output.addSecret(v),
          dryRun: !!opt.flag(args, 'dry-run'),
          onEvent: view.on,
          signal: controller.signal,
          concurrency,
        })
        if (opt.flag(args, 'dry-run')) {
          output.event({
            type: 'dry-run',
            base: recipe.baseText,
            prefix: `/${result.plan.prefix}`,
            layers: result.layers,
            bytes: result.bytes,
            annotations: result.plan.annotations,
            labels: result.plan.labels,
            sinks: recipe.sinks.map((s) => s.type),
          })
          output.print(`base: ${recipe.baseText}`)
          output.print(`layers (${result.layers.length}), ${formatBytes(result.bytes)} in total, under /${result.plan.prefix}:`)
          for (const l of result.layers)
            output.print(
              `  ${formatBytes(l.bytes).padStart(10)}  ${l.title}${l.files.length > 1 ? `: ${l.files.slice(0, 5).join(', ')}${l.files.length > 5 ? ', …' : ''}` : ''}`,
            )
          output.print(`sinks: ${recipe.sinks.map((s) => s.type).join(', ')} (nothing written: dry run)`)
        } else {
          output.print(result.digest!)
        }
      } finally {
        view.finish()
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      }
      return 0
    } catch (err) {
      return output.error(err)
    }
  },
}

function one(positionals: string[]): string {
  if (positionals.length !== 1)
    throw argErr(positionals.length === 0 ? 'give the recipe file' : `one recipe at a time, got ${positionals.length}`)
  return positionals[0]!
}

function argErr(message: string) {
  return errors.argumentInvalid(message, `usage: modelcar ${USAGE}`)
}

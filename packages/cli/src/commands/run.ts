// `modelcar run RECIPE [--dry-run] [--json] [--set k=v]`: runs the pipeline.
import { formatBytes, runRecipe, type Recipe, type RunResult } from '@modelcar/core'
import { positiveInteger, setOverrides } from '../command-line/args.js'
import { CACHE_OPTIONS, cacheChoice } from '../command-line/cache-dir.js'
import { defineCommand } from '../command-line/define-command.js'
import type { Output } from '../command-line/output.js'
import { ProgressView } from '../command-line/progress-view.js'
import { interruptible } from '../command-line/interrupt.js'
import { loadRecipeFile } from './recipe-file.js'

const USAGE = 'run RECIPE [--dry-run] [--json] [--set key=value]... [--concurrency N] [--cache-dir DIR | --no-cache]'

export const runCommand = defineCommand({
  name: 'run',
  usage: USAGE,
  summary: 'run a recipe: sources → layers → sinks',
  options: {
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    set: { type: 'string', multiple: true },
    concurrency: { type: 'string' },
    ...CACHE_OPTIONS,
  },
  async run({ values, positionals }, { output, env, usageError }) {
    if (positionals.length !== 1)
      throw usageError(positionals.length === 0 ? 'give the recipe file' : `one recipe at a time, got ${positionals.length}`)
    const concurrency = positiveInteger(values.concurrency, 'concurrency', USAGE)
    const recipe = await loadRecipeFile(positionals[0]!, env, setOverrides(values.set))
    const dryRun = values['dry-run'] === true
    const view = new ProgressView(output)
    const result = await interruptible((signal) =>
      runRecipe(recipe, {
        env,
        onSecret: (v) => output.addSecret(v),
        dryRun,
        onEvent: view.on,
        signal,
        concurrency,
        ...cacheChoice(values, env),
      }),
    ).finally(() => view.finish())
    if (dryRun) printPlan(output, recipe, result)
    else output.print(result.digest!)
  },
})

/** What a dry run found: the base, each layer with its size and files, the sinks. */
function printPlan(output: Output, recipe: Recipe, result: RunResult): void {
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
  for (const l of result.layers) {
    const files = l.files.length > 1 ? `: ${l.files.slice(0, 5).join(', ')}${l.files.length > 5 ? ', …' : ''}` : ''
    output.print(`  ${formatBytes(l.bytes).padStart(10)}  ${l.title}${files}`)
  }
  output.print(`sinks: ${recipe.sinks.map((s) => s.type).join(', ')} (nothing written: dry run)`)
}

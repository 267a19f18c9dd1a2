// Mirrors the chosen models, a few at a time: each model's recipe is run as `modelcar run` would
// run it (its layers at the run's concurrency, reused where the target or the record has them). A
// model that fails fails alone: the others go on, and the outcome of each is returned.
import { runRecipe, type CatalogModel, type Recipe, type RunEvent, type RunResult } from '@modelcar/core'

export interface ModelOutcome {
  model: CatalogModel
  result?: RunResult
  error?: unknown
  seconds: number
}

export interface MirrorOptions {
  /** Models run at once. */
  parallel: number
  env: NodeJS.ProcessEnv
  signal: AbortSignal
  concurrency?: number | undefined
  cacheDir?: string | undefined
  onEvent: (model: CatalogModel, e: RunEvent) => void
  onSecret: (value: string) => void
  onStart: (model: CatalogModel) => void
  onEnd: (outcome: ModelOutcome) => void
}

export async function mirrorModels(models: CatalogModel[], o: MirrorOptions): Promise<ModelOutcome[]> {
  const outcomes = new Array<ModelOutcome>(models.length)
  let next = 0
  const worker = async () => {
    while (next < models.length && !o.signal.aborted) {
      const i = next++
      const model = models[i]!
      o.onStart(model)
      const started = performance.now()
      const outcome: ModelOutcome = await mirrorOne(model, o).then(
        (result) => ({ model, result, seconds: 0 }),
        (error: unknown) => ({ model, error, seconds: 0 }),
      )
      outcome.seconds = (performance.now() - started) / 1000
      outcomes[i] = outcome
      o.onEnd(outcome)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.parallel, models.length)) }, worker))
  return outcomes.filter(Boolean)
}

async function mirrorOne(model: CatalogModel, o: MirrorOptions): Promise<RunResult> {
  const run = (recipe: Recipe, dryRun: boolean) =>
    runRecipe(recipe, {
      env: o.env,
      signal: o.signal,
      dryRun,
      onSecret: o.onSecret,
      // The listing that resolves `{commit}` is not the run: its plan is said once, by the run.
      onEvent: (e) => (dryRun ? undefined : o.onEvent(model, e)),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    })
  if (!model.usesCommit) return run(await model.recipe(), false)
  // `{commit}` in a ref: list first to learn the commit the revision stands at, then mirror that
  // very commit (the source is pinned to it, so a push meanwhile cannot split tag and content).
  const planned = await run(await model.recipe(), true)
  const commit = planned.plan.annotations['org.opencontainers.image.revision']
  if (!commit)
    throw new Error(
      `model \`${model.name}\` uses {commit}, but its source names no commit (only sources that resolve a revision, such as \`hf\`, do)`,
    )
  const recipe = await model.recipe({ commit })
  const source = recipe.sources[0]!
  if ('revision' in source.config) source.config = { ...source.config, revision: commit }
  return run(recipe, false)
}

// `modelcar mirror CATALOG`: every model of a catalogue (or one shard of it, or one model), a few at
// a time; one failed model fails only itself; the exit code says whether every model made it.
// `--emit kubernetes` prints the manifests that run the catalogue as shards on a cluster instead.
import { loadCatalog } from '@modelcar/core'
import { positiveInteger } from '../command-line/args.js'
import { CACHE_OPTIONS, cacheChoice } from '../command-line/cache-dir.js'
import { defineCommand } from '../command-line/define-command.js'
import { EXIT_DONE, EXIT_RUN_FAILED } from '../command-line/exit-codes.js'
import { interruptible } from '../command-line/interrupt.js'
import { officialRegistry } from '../components/official-components.js'
import { pluginResolver } from '../components/resolve-plugin.js'
import { mirrorModels } from '../mirror/mirror-models.js'
import { MirrorView } from '../mirror/mirror-view.js'
import { selectModels } from '../mirror/select-models.js'

const USAGE =
  'mirror CATALOG [--shard I/N | --shards N] [--only NAME] [--parallel M] [--concurrency N] [--cache-dir DIR | --no-cache] [--json] | mirror CATALOG --emit kubernetes --shards N --image IMG [--schedule CRON] [--namespace NS]'

export const mirrorCommand = defineCommand({
  name: 'mirror',
  usage: USAGE,
  summary: 'mirror every model of a catalogue (or a shard of it); or print the Kubernetes manifests that do',
  options: {
    shard: { type: 'string' },
    shards: { type: 'string' },
    only: { type: 'string' },
    parallel: { type: 'string' },
    concurrency: { type: 'string' },
    json: { type: 'boolean' },
    emit: { type: 'string' },
    image: { type: 'string' },
    schedule: { type: 'string' },
    namespace: { type: 'string' },
    ...CACHE_OPTIONS,
  },
  async run({ values, positionals }, { output, env, usageError }) {
    if (positionals.length !== 1)
      throw usageError(positionals.length === 0 ? 'give the catalogue file' : `one catalogue at a time, got ${positionals.length}`)
    const file = positionals[0]!
    const shards = positiveInteger(values.shards, 'shards', USAGE)
    const catalog = await loadCatalog(file, { registry: officialRegistry(), env, resolver: pluginResolver })
    if (values.emit !== undefined) {
      if (values.emit !== 'kubernetes') throw usageError(`--emit \`${values.emit}\` is not known; \`kubernetes\` is`)
      // Loaded only here: the typed Kubernetes models cost a mirror run 14 MB of memory otherwise.
      const { emitKubernetes } = await import('../kubernetes/emit-kubernetes.js')
      output.write(
        await emitKubernetes({ file, catalog, shards, image: values.image, schedule: values.schedule, namespace: values.namespace, env }),
      )
      return EXIT_DONE
    }
    const { models, shard } = selectModels(catalog.models, { only: values.only, shard: values.shard, shards }, env)
    const view = new MirrorView(output, models)
    const outcomes = await interruptible((signal) =>
      mirrorModels(models, {
        parallel: positiveInteger(values.parallel, 'parallel', USAGE) ?? 2,
        env,
        signal,
        concurrency: positiveInteger(values.concurrency, 'concurrency', USAGE),
        ...cacheChoice(values, env),
        onEvent: view.event,
        onSecret: (v) => output.addSecret(v),
        onStart: view.start,
        onEnd: view.end,
      }),
    )
    view.summary(outcomes, shard)
    return outcomes.every((o) => !o.error) && outcomes.length === models.length ? EXIT_DONE : EXIT_RUN_FAILED
  },
})

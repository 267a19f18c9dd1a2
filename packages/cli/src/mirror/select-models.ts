// Which models of a catalogue this process mirrors: all of them, `--only NAME`, or one shard —
// `--shard I/N`, or `--shards N` with the index Kubernetes gives the pod of an Indexed Job
// (JOB_COMPLETION_INDEX).
import { errors, shardOf, type CatalogModel } from '@modelcar/core'

export interface Selection {
  models: CatalogModel[]
  /** `shard 1/3`, for messages; undefined when not sharded. */
  shard?: string
}

export function selectModels(
  models: CatalogModel[],
  opts: { only?: string | undefined; shard?: string | undefined; shards?: number | undefined },
  env: NodeJS.ProcessEnv,
): Selection {
  let chosen = models
  if (opts.only !== undefined) {
    chosen = models.filter((m) => m.name === opts.only)
    if (chosen.length === 0) {
      throw errors.argumentInvalid(
        `the catalogue has no model \`${opts.only}\``,
        `its models: ${models.map((m) => `\`${m.name}\``).join(', ')}`,
      )
    }
  }
  const shard = parseShard(opts, env)
  if (!shard) return { models: chosen }
  return { models: shardOf(chosen, shard.index, shard.count), shard: `shard ${shard.index}/${shard.count}` }
}

function parseShard(
  opts: { shard?: string | undefined; shards?: number | undefined },
  env: NodeJS.ProcessEnv,
): { index: number; count: number } | undefined {
  if (opts.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(opts.shard)
    const index = Number(m?.[1])
    const count = Number(m?.[2])
    if (!m || count < 1 || index >= count) {
      throw errors.argumentInvalid(`--shard \`${opts.shard}\` is not I/N with 0 ≤ I < N`, 'e.g. `--shard 0/3`, `--shard 2/3`')
    }
    if (opts.shards !== undefined && opts.shards !== count)
      throw errors.argumentInvalid(`--shard ${opts.shard} and --shards ${opts.shards} disagree`, 'give one of them')
    return { index, count }
  }
  if (opts.shards === undefined) return undefined
  const text = env.JOB_COMPLETION_INDEX
  if (text === undefined || !/^\d+$/.test(text) || Number(text) >= opts.shards) {
    throw errors.argumentInvalid(
      `--shards ${opts.shards} needs the shard to run: JOB_COMPLETION_INDEX is ${text === undefined ? 'not set' : `\`${text}\``}`,
      'in a Kubernetes Indexed Job it is set for each pod; elsewhere give `--shard I/N`',
    )
  }
  return { index: Number(text), count: opts.shards }
}

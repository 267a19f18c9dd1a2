// A deterministic slice of a catalogue: shard I of N takes the models at positions I, I+N, I+2N…
// Models added at the end of the catalogue leave every shard's earlier models where they were,
// and every model is in exactly one shard: shards started at once never mirror a model twice.

export function shardOf<T extends { index: number }>(models: readonly T[], shard: number, shards: number): T[] {
  if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
    throw new RangeError(`shard ${shard} of ${shards} does not exist`)
  }
  return models.filter((m) => m.index % shards === shard)
}

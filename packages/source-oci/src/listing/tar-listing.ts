// The members of a tar layer, read before any file is: an uncompressed layer by its headers alone
// (ranged reads that jump over the files: a layout's seeks, a registry's ranged GETs); a
// compressed one by its first header when its annotations say it holds one file (ModelPack's
// file metadata), else by one pass over it all, which also verifies it (a compressed tar's
// members are only found by decompressing what comes before them).
import { formatBytes, withRetries, type ComponentContext, type Descriptor } from '@modelcar/core'
import { annotationOf, ModelAnnotation, type Compression } from '../artifact/model-media-types.js'
import { walkLayer } from '../files/layer-walk.js'
import type { TarLayer, VerifiedLayers } from '../files/tar-layer.js'
import type { BlobStore } from '../store/blob-store.js'
import { decompressed } from '../tar/decompress.js'
import { tarEntries, type TarEntry } from '../tar/tar-entries.js'
import { rangeInput, streamInput } from '../tar/tar-inputs.js'

/** A compressed layer read whole to be listed is said at info level from this size on (below it, at debug). */
const WORTH_SAYING_BYTES = 64 << 20

export async function listTarLayer(
  store: BlobStore,
  layer: Pick<TarLayer, 'desc' | 'compression' | 'label'>,
  verified: VerifiedLayers,
  ctx: ComponentContext,
): Promise<TarLayer> {
  if (layer.compression === 'none') {
    const entries: TarEntry[] = []
    const input = rangeInput((start, end) => store.readRange(layer.desc, start, end), layer.desc.size)
    for await (const entry of tarEntries(input, layer.label)) entries.push(entry)
    return { ...layer, entries, complete: true }
  }
  if (holdsOneFile(layer.desc)) {
    const leading = await withRetries(() => leadingMembers(store, layer.desc, layer.compression, layer.label, ctx.signal), {
      signal: ctx.signal,
    })
    if (leading) return { ...layer, entries: leading, complete: false }
  }
  // Worth saying when it costs time: the layer is read again when its files stream.
  const note = `listing ${layer.label} reads it whole (${formatBytes(layer.desc.size)}): the files of a compressed tar are found only by decompressing it`
  if (layer.desc.size >= WORTH_SAYING_BYTES) ctx.logger.info(note)
  else ctx.logger.debug(note)
  const walked = await withRetries(
    async () => {
      const walk = walkLayer(store, layer, undefined, ctx.signal)
      for (let step = await walk.next(); ; step = await walk.next()) if (step.done) return step.value
    },
    { signal: ctx.signal },
  )
  verified.record(layer.desc, walked.members)
  return { ...layer, entries: walked.entries, complete: true }
}

/** The layer's file metadata annotation says it holds one regular file (type flag `0`, or NUL as some writers store it). */
function holdsOneFile(desc: Descriptor): boolean {
  const text = annotationOf(desc.annotations, ModelAnnotation.fileMetadata)
  if (!text) return false
  try {
    const meta = JSON.parse(text) as { typeflag?: unknown }
    return meta.typeflag === 0 || meta.typeflag === 48 || meta.typeflag === '0'
  } catch {
    return false
  }
}

/** The members of a compressed tar up to its first file (folders may come first): its first few kilobytes decompressed, the rest let go. */
async function leadingMembers(
  store: BlobStore,
  desc: Descriptor,
  compression: Compression,
  label: string,
  signal: AbortSignal,
): Promise<TarEntry[] | undefined> {
  const input = streamInput(decompressed(await store.open(desc, 0, undefined, signal), compression, label))
  const entries: TarEntry[] = []
  try {
    for await (const entry of tarEntries(input, label)) {
      entries.push(entry)
      if (entry.type === 'file') return entries
      if (entry.type !== 'dir') return undefined
    }
    return undefined
  } finally {
    await input.close()
  }
}

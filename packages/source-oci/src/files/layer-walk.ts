// One pass over a whole tar layer, from its first byte to its last: every byte hashed against the
// layer's digest, decompressed when it is compressed, its members walked and each file's sha256
// taken; the data of one member (the file being read) handed on from a byte offset while it
// passes. It ends with the layer's digest checked, so a file's last byte reaches the engine only
// once the layer holding it is proven to be the one the artifact names.
import { createHash } from 'node:crypto'
import { errors, type Descriptor } from '@modelcar/core'
import { ociErrors } from '../errors/oci-errors.js'
import type { BlobStore } from '../store/blob-store.js'
import { decompressed } from '../tar/decompress.js'
import { tarEntries, type TarEntry } from '../tar/tar-entries.js'
import { streamInput, type StreamInput } from '../tar/tar-inputs.js'
import type { TarLayer } from './tar-layer.js'

export interface WalkTarget {
  /** The member whose data is yielded (found by its data offset). */
  entry: TarEntry
  /** From this byte of its data. */
  start: number
}

export interface WalkResult {
  /** Every member, in archive order. */
  entries: TarEntry[]
  /** `sha256:…` of each file member's data, by data offset. */
  members: Map<number, string>
}

/**
 * Walks `layer` whole (its listing, when given with `expect`, is checked member by member), yields
 * the target's data from `start`, and returns what it found once the layer's digest matched.
 */
export async function* walkLayer(
  store: BlobStore,
  layer: Pick<TarLayer, 'desc' | 'compression' | 'label'> & { expect?: Pick<TarLayer, 'entries' | 'complete'> },
  target: WalkTarget | undefined,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array, WalkResult> {
  const blob = hashed(await store.open(layer.desc, 0, undefined, signal))
  const input = streamInput(decompressed(blob.bytes, layer.compression, layer.label))
  const result: WalkResult = { entries: [], members: new Map() }
  let found = target === undefined
  try {
    for await (const entry of tarEntries(input, layer.label)) {
      if (layer.expect) checkListed(layer.label, layer.expect, entry, result.entries.length)
      result.entries.push(entry)
      if (entry.type !== 'file') continue
      const hash = createHash('sha256')
      const isTarget = target !== undefined && entry.dataOffset === target.entry.dataOffset
      if (isTarget && entry.size !== target.entry.size)
        throw ociErrors.layerChanged(
          layer.label,
          `holds \`${entry.name}\` with ${entry.size} bytes, where the listing read ${target.entry.size}`,
        )
      found ||= isTarget
      yield* memberData(input, entry.size, hash, isTarget ? target.start : Infinity)
      result.members.set(entry.dataOffset, `sha256:${hash.digest('hex')}`)
    }
    await input.drain()
  } finally {
    await input.close()
  }
  blob.check(layer.desc, store.name)
  if (!found) throw ociErrors.layerChanged(layer.label, `holds no \`${target!.entry.name}\` where the listing found it`)
  return result
}

/** A member's data through `hash`, and from byte `from` on to the caller. */
async function* memberData(
  input: StreamInput,
  size: number,
  hash: ReturnType<typeof createHash>,
  from: number,
): AsyncGenerator<Uint8Array> {
  let at = 0
  for await (const chunk of input.chunks(size)) {
    hash.update(chunk)
    const end = at + chunk.byteLength
    if (end > from) yield at >= from ? chunk : chunk.subarray(from - at)
    at = end
  }
}

/** A member the walk meets must be the one the listing read at that place; a listing of the first member only allows no other file. */
function checkListed(label: string, listed: Pick<TarLayer, 'entries' | 'complete'>, entry: TarEntry, index: number): void {
  const expected = listed.entries[index]
  if (expected) {
    if (
      expected.name !== entry.name ||
      expected.dataOffset !== entry.dataOffset ||
      expected.size !== entry.size ||
      expected.type !== entry.type
    )
      throw ociErrors.layerChanged(
        label,
        `holds \`${entry.name}\` (${entry.size} bytes) where the listing read \`${expected.name}\` (${expected.size} bytes)`,
      )
    return
  }
  if (listed.complete || entry.type === 'file')
    throw ociErrors.layerChanged(
      label,
      listed.complete
        ? `holds \`${entry.name}\` after the members the listing read`
        : `holds \`${entry.name}\` too, where its annotations name one file`,
    )
}

/** A blob's bytes, counted and hashed as they pass. */
function hashed(source: AsyncIterable<Uint8Array>): { bytes: AsyncIterable<Uint8Array>; check(desc: Descriptor, where: string): void } {
  const hash = createHash('sha256')
  let size = 0
  return {
    bytes: (async function* () {
      for await (const chunk of source) {
        hash.update(chunk)
        size += chunk.byteLength
        yield chunk
      }
    })(),
    check(desc, where) {
      const actual = `sha256:${hash.digest('hex')}`
      if (size !== desc.size || actual !== desc.digest) throw errors.blobDigestMismatch(`${where} (${size} bytes)`, desc.digest, actual)
    },
  }
}

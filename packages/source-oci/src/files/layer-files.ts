// The ModelFiles of a model artifact's layers. A raw layer is one file: its digest is the file's
// sha256, which the engine checks while the bytes stream. A file inside a tar layer is read by a
// pass over the whole layer (every byte checked against the layer's digest) the first time; once
// its layer is verified, alone, checked against the sha256 that pass found.
import { createHash } from 'node:crypto'
import type { Descriptor, ModelFile } from '@modelcar/core'
import { ociErrors } from '../errors/oci-errors.js'
import type { BlobStore } from '../store/blob-store.js'
import { decompressed } from '../tar/decompress.js'
import { tarEntries, type TarEntry } from '../tar/tar-entries.js'
import { streamInput } from '../tar/tar-inputs.js'
import { walkLayer } from './layer-walk.js'
import type { TarLayer, VerifiedLayers } from './tar-layer.js'

export interface FileFacts {
  /** The file's path in the artifact, relative. */
  path: string
  mode: number | undefined
  /** Provenance: `oci://host/repo@sha256:…/path`; undefined for a layout (its path is this machine's). */
  origin: string | undefined
}

export function rawLayerFile(store: BlobStore, desc: Descriptor, facts: FileFacts, runSignal: AbortSignal): ModelFile {
  return {
    path: facts.path,
    size: desc.size,
    ...(facts.mode !== undefined ? { mode: facts.mode } : {}),
    digest: desc.digest,
    ...(facts.origin ? { origin: facts.origin } : {}),
    open: ({ start = 0, signal } = {}) => store.open(desc, start, undefined, signal ?? runSignal),
  }
}

export interface MemberRead {
  store: BlobStore
  layer: TarLayer
  /** The member whose data the file is (a link's target for a hard or symbolic link). */
  member: TarEntry
  verified: VerifiedLayers
  signal: AbortSignal
}

export function tarMemberFile(read: MemberRead, facts: FileFacts): ModelFile {
  const { layer, member } = read
  return {
    path: facts.path,
    size: member.size,
    ...(facts.mode !== undefined ? { mode: facts.mode } : {}),
    // The layer's digest and the member's place in it name these bytes anywhere: a later run finds
    // the Modelcar layer made from them without reading the artifact again.
    identity: `oci-layer:${layer.desc.digest}@${member.dataOffset}:${member.name}`,
    ...(facts.origin ? { origin: facts.origin } : {}),
    open: async ({ start = 0, signal } = {}) => readMember(read, start, signal ?? read.signal),
  }
}

async function* readMember(read: MemberRead, start: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const { layer, member, verified } = read
  // Checked and begun with no wait in between: of files opened at once, one passes over the layer.
  for (let pass = verified.underWay(layer.desc); pass; pass = verified.underWay(layer.desc)) await verified.wait(pass, signal)
  const known = verified.memberDigest(layer.desc, member.dataOffset)
  if (known) {
    yield* readVerifiedMember(read, start, known, signal)
    return
  }
  const end = verified.begin(layer.desc)
  try {
    const walk = walkLayer(read.store, { ...layer, expect: layer }, { entry: member, start }, signal)
    let step = await walk.next()
    for (; !step.done; step = await walk.next()) yield step.value
    verified.record(layer.desc, step.value.members)
  } finally {
    end()
  }
}

/** A member of a verified layer: an uncompressed one read at its offset, a compressed one decompressed up to it; its bytes checked against `digest`. */
async function* readVerifiedMember(read: MemberRead, start: number, digest: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const { store, layer, member } = read
  const hash = createHash('sha256')
  let at = 0
  const pass = (chunk: Uint8Array): Uint8Array | undefined => {
    hash.update(chunk)
    const from = at
    at += chunk.byteLength
    return at <= start ? undefined : from >= start ? chunk : chunk.subarray(start - from)
  }
  if (layer.compression === 'none') {
    for await (const chunk of await store.open(layer.desc, member.dataOffset, member.dataOffset + member.size, signal)) {
      const out = pass(chunk)
      if (out) yield out
    }
  } else {
    const input = streamInput(decompressed(await store.open(layer.desc, 0, undefined, signal), layer.compression, layer.label))
    try {
      for await (const entry of tarEntries(input, layer.label)) {
        if (entry.dataOffset < member.dataOffset) continue
        if (entry.dataOffset > member.dataOffset) break
        for await (const chunk of input.chunks(member.size)) {
          const out = pass(chunk)
          if (out) yield out
        }
        break
      }
    } finally {
      await input.close()
    }
  }
  if (at !== member.size) throw ociErrors.layerChanged(layer.label, `ended after ${at} of the ${member.size} bytes of \`${member.name}\``)
  const actual = `sha256:${hash.digest('hex')}`
  if (actual !== digest) throw ociErrors.entryDigestMismatch(member.name, digest, actual)
}

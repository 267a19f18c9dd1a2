// Encodes one OCI layer as a stream: deterministic tar (tar-stream), optional gzip, and the
// sha256 of both the tar (diff_id) and the blob (digest) computed while the bytes pass; or, for a
// raw layer, the file's bytes as they are.
import { createHash, type Hash } from 'node:crypto'
import zlib from 'node:zlib'
import tar from 'tar-stream'
import { MediaType } from '../oci/media-types.js'
import { ModelcarError } from '../errors/index.js'

import type { Compression } from '../contract/plan.js'

export type { Compression }

/**
 * The version of the encoding: bumped whenever the same input would give other bytes (a header
 * field, padding, a PAX record). Layers record it, so a later run never reuses a layer encoded
 * another way.
 */
export const ENCODER_VERSION = 1

export interface LayerFileEntry {
  /** Path inside the tar, without a leading slash: `models/tokenizer/vocab.json`. */
  name: string
  size: number
  /** Executable files keep 0755; everything else is 0644. */
  executable?: boolean
  /** The file's bytes; must yield exactly `size` bytes (checked by the caller's reader). */
  read(): AsyncIterable<Uint8Array>
}

export interface EncodedLayer {
  mediaType: string
  digest: string
  size: number
  /** sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry. */
  diffId: string
}

export interface LayerEncoderOptions {
  compression?: Compression
  /** gzip/zstd level. */
  level?: number
  /** Seconds since the epoch for every entry's mtime (SOURCE_DATE_EPOCH), 0 by default. */
  mtime?: number
}

/** Tar entries for `models/a/b.bin`: `models/`, `models/a/` (each parent once, in order). */
export function parentDirectories(names: string[]): string[] {
  const seen = new Set<string>()
  const dirs: string[] = []
  for (const name of names) {
    const parts = name.split('/')
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`
      if (!seen.has(dir)) {
        seen.add(dir)
        dirs.push(dir)
      }
    }
  }
  return dirs
}

/** Sizes above the ustar limit (8 GiB - 1) get a PAX `size` record besides GNU base-256. */
const USTAR_MAX_SIZE = 0o77777777777

export function mediaTypeFor(compression: Compression): string {
  return compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer
}

function createCompressor(compression: Compression, level: number | undefined): zlib.Gzip | NodeJS.ReadWriteStream | undefined {
  if (compression === 'none') return undefined
  if (compression === 'gzip') return zlib.createGzip({ level: level ?? 6 })
  const createZstd = (zlib as unknown as { createZstdCompress?: (o?: object) => NodeJS.ReadWriteStream }).createZstdCompress
  if (!createZstd) {
    throw new ModelcarError('ARGUMENT_INVALID', '`compression: zstd` needs Node.js 22.15 or newer', {
      hint: 'use `compression: gzip` or `none` on this Node.js, or upgrade Node.js',
      input: true,
    })
  }
  const params =
    level === undefined ? {} : { params: { [(zlib.constants as Record<string, number>).ZSTD_c_compressionLevel ?? 100]: level } }
  return createZstd(params)
}

/**
 * Encodes the entries as one layer. Iterate `chunks` to receive the blob's bytes (backpressure
 * reaches the file readers); `result` settles when the last byte has passed.
 */
export function encodeLayer(
  entries: LayerFileEntry[],
  opts: LayerEncoderOptions = {},
): {
  chunks: AsyncIterable<Uint8Array>
  result: Promise<EncodedLayer>
} {
  const compression = opts.compression ?? 'none'
  const mtime = new Date((opts.mtime ?? 0) * 1000)
  const mediaType = mediaTypeFor(compression)
  let resolve!: (l: EncodedLayer) => void
  let reject!: (e: unknown) => void
  const result = new Promise<EncodedLayer>((res, rej) => {
    resolve = res
    reject = rej
  })
  result.catch(() => {}) // the caller observes failures through `chunks`

  async function* chunks(): AsyncGenerator<Uint8Array> {
    const pack = tar.pack()
    const tarHash = createHash('sha256')
    const compressor = createCompressor(compression, opts.level)
    const blobHash: Hash = compressor ? createHash('sha256') : tarHash
    let blobSize = 0
    const producing = produce(pack, entries, mtime)
    producing.catch((err) => pack.destroy(err))
    try {
      if (!compressor) {
        for await (const chunk of pack as AsyncIterable<Uint8Array>) {
          tarHash.update(chunk)
          blobSize += chunk.byteLength
          yield chunk
        }
      } else {
        const compressed = pipeThrough(pack as AsyncIterable<Uint8Array>, compressor, (c) => tarHash.update(c))
        for await (const chunk of compressed) {
          blobHash.update(chunk)
          blobSize += chunk.byteLength
          yield chunk
        }
      }
      await producing
      const diffId = `sha256:${tarHash.digest('hex')}`
      const digest = compressor ? `sha256:${blobHash.digest('hex')}` : diffId
      resolve({ mediaType, digest, size: blobSize, diffId })
    } catch (err) {
      pack.destroy()
      const cause =
        (await producing.then(
          () => undefined,
          (e: unknown) => e,
        )) ?? err
      reject(cause)
      throw cause
    } finally {
      // Reached early when the consumer stops iterating: stop the producer and the file readers.
      if (!pack.destroyed) pack.destroy()
    }
  }
  return { chunks: chunks(), result }
}

/** What the engine calls a raw layer's blob until a format names it (a ModelPack layer type, by kind). */
export const RAW_LAYER_MEDIA_TYPE = 'application/octet-stream'

/**
 * A raw layer: the one file's bytes as they are, hashed as they pass (digest and diff_id are the
 * file's sha256). The same interface as encodeLayer, so the engine streams either alike.
 */
export function encodeRawLayer(entries: LayerFileEntry[]): { chunks: AsyncIterable<Uint8Array>; result: Promise<EncodedLayer> } {
  if (entries.length !== 1) throw new ModelcarError('PLAN_INVALID', `a raw layer holds one file, not ${entries.length}`)
  const entry = entries[0]!
  let resolve!: (l: EncodedLayer) => void
  let reject!: (e: unknown) => void
  const result = new Promise<EncodedLayer>((res, rej) => {
    resolve = res
    reject = rej
  })
  result.catch(() => {}) // the caller observes failures through `chunks`
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const hash = createHash('sha256')
    let size = 0
    try {
      for await (const chunk of entry.read()) {
        hash.update(chunk)
        size += chunk.byteLength
        yield chunk
      }
      const digest = `sha256:${hash.digest('hex')}`
      resolve({ mediaType: RAW_LAYER_MEDIA_TYPE, digest, size, diffId: digest })
    } catch (err) {
      reject(err)
      throw err
    }
  }
  return { chunks: chunks(), result }
}

type TarHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>

async function produce(pack: tar.Pack, entries: LayerFileEntry[], mtime: Date): Promise<void> {
  const common = { mtime, uid: 0, gid: 0, uname: '', gname: '' }
  for (const dir of parentDirectories(entries.map((e) => e.name))) {
    await writeEntry(pack, { ...common, name: dir, type: 'directory', mode: 0o755 }, undefined)
  }
  for (const e of entries) {
    const header: TarHeader = { ...common, name: e.name, type: 'file', size: e.size, mode: e.executable ? 0o755 : 0o644 }
    if (e.size > USTAR_MAX_SIZE) header.pax = { size: String(e.size) }
    await writeEntry(pack, header, e.read())
  }
  pack.finalize()
}

function writeEntry(pack: tar.Pack, header: TarHeader, body: AsyncIterable<Uint8Array> | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()))
    if (!body) return
    ;(async () => {
      for await (const chunk of body) {
        // 'close' too: a consumer that stops early destroys the pack, and no drain ever comes.
        // Both listeners go when either fires: one left per wait would pile up over a large file.
        if (!entry.write(chunk)) {
          await new Promise<void>((r) => {
            const done = (): void => {
              entry.off('drain', done)
              entry.off('close', done)
              r()
            }
            entry.on('drain', done)
            entry.on('close', done)
          })
        }
        if (entry.destroyed) throw new Error('layer encoding was stopped')
      }
      entry.end(undefined)
    })().catch((err) => {
      entry.on('error', () => {}) // reported through reject(); the pack is destroyed by the caller
      entry.destroy(err)
      reject(err)
    })
  })
}

/** Feeds `input` through a Node transform stream, calling `onInput` on every input chunk. */
async function* pipeThrough(
  input: AsyncIterable<Uint8Array>,
  transform: NodeJS.ReadWriteStream,
  onInput: (c: Uint8Array) => void,
): AsyncGenerator<Uint8Array> {
  const feeding = (async () => {
    for await (const chunk of input) {
      onInput(chunk)
      if (!transform.write(chunk)) await new Promise<void>((r) => transform.once('drain', () => r()))
    }
    transform.end()
  })()
  feeding.catch((err) => (transform as unknown as { destroy(e: unknown): void }).destroy(err))
  for await (const chunk of transform as AsyncIterable<Uint8Array>) yield chunk
  await feeding
}

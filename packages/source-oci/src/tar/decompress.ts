// A compressed layer's bytes as the tar they hold: gzip (every member of a multi-member file) and
// zstd (Node.js 22.15 and newer) by Node's zlib, as a stream; a failure of the compressed stream
// (a cut connection) comes out of the decompressed one unchanged.
import { pipeline, Readable, type Transform } from 'node:stream'
import zlib from 'node:zlib'
import { ModelcarError } from '@modelcar/core'
import type { Compression } from '../artifact/model-media-types.js'
import { ociErrors } from '../errors/oci-errors.js'

export function decompressed(source: AsyncIterable<Uint8Array>, compression: Compression, layer: string): AsyncIterable<Uint8Array> {
  if (compression === 'none') return source
  const decoder = decoderFor(compression, layer)
  let failedUpstream: unknown
  const input = Readable.from(
    (async function* () {
      try {
        yield* source
      } catch (err) {
        failedUpstream = err
        throw err
      }
    })(),
    { objectMode: false },
  )
  pipeline(input, decoder, () => {})
  return (async function* () {
    try {
      for await (const chunk of decoder) yield chunk as Uint8Array
    } catch (err) {
      // The source's own failure (retryable or not) is the one to report, not zlib's view of it.
      if (failedUpstream !== undefined) throw failedUpstream
      if (err instanceof ModelcarError) throw err
      throw ociErrors.tarInvalid(layer, `its ${compression} stream is damaged (${(err as Error).message})`)
    } finally {
      decoder.destroy()
      input.destroy()
    }
  })()
}

function decoderFor(compression: 'gzip' | 'zstd', layer: string): Transform {
  if (compression === 'gzip') return zlib.createGunzip()
  const createZstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress
  if (!createZstd) throw ociErrors.zstdUnavailable(layer)
  return createZstd()
}

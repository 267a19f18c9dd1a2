// The two ways a tar archive is read: by ranges of a blob whose size is known (the listing of an
// uncompressed layer: a window around each header, files jumped over), and as one stream from
// its first byte (a read, or any compressed layer), whose skipped bytes still pass through.
import type { TarInput } from './tar-entries.js'

/** Reads `[start, end)` of the archive; fewer bytes only past its end. */
export type RangeRead = (start: number, end: number) => Promise<Uint8Array>

/**
 * An archive of `size` bytes read by ranges: each read fetches a window of `windowBytes` (so the
 * headers of small members come in one request), a skip only moves the position.
 */
export function rangeInput(readRange: RangeRead, size: number, windowBytes = 64 << 10): TarInput {
  let position = 0
  let window: { start: number; bytes: Uint8Array } = { start: 0, bytes: new Uint8Array(0) }
  return {
    get position() {
      return position
    },
    async read(n) {
      const end = Math.min(position + n, size)
      if (end <= position) return new Uint8Array(0)
      if (position < window.start || end > window.start + window.bytes.byteLength) {
        window = { start: position, bytes: await readRange(position, Math.min(size, position + Math.max(n, windowBytes))) }
      }
      const out = window.bytes.subarray(position - window.start, end - window.start)
      position += out.byteLength
      return out
    },
    async skip(n) {
      position = Math.min(size, position + n)
    },
  }
}

/** A tar input over a stream, which also hands a member's data on as it comes. */
export interface StreamInput extends TarInput {
  /** The next `n` bytes as they arrive, without gathering them (fewer only at the end). */
  chunks(n: number): AsyncGenerator<Uint8Array>
  /** Reads the stream to its end (what follows the archive's end still counts for the blob's digest). */
  drain(): Promise<void>
  /** Lets the stream go before its end (the rest is not wanted). */
  close(): Promise<void>
}

export function streamInput(source: AsyncIterable<Uint8Array>): StreamInput {
  const it = source[Symbol.asyncIterator]()
  let position = 0
  let held: Uint8Array = new Uint8Array(0)
  let ended = false
  /** Up to `max` bytes: what is held first, else the next chunk of the stream. */
  const take = async (max: number): Promise<Uint8Array | undefined> => {
    if (held.byteLength === 0) {
      if (ended) return undefined
      const r = await it.next()
      if (r.done) {
        ended = true
        return undefined
      }
      held = r.value
    }
    const out = held.subarray(0, max)
    held = held.subarray(out.byteLength)
    position += out.byteLength
    return out
  }
  async function* chunks(n: number): AsyncGenerator<Uint8Array> {
    let left = n
    while (left > 0) {
      const chunk = await take(left)
      if (!chunk) return
      left -= chunk.byteLength
      yield chunk
    }
  }
  return {
    get position() {
      return position
    },
    chunks,
    async read(n) {
      const parts: Uint8Array[] = []
      for await (const c of chunks(n)) parts.push(c)
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    },
    async skip(n) {
      for await (const _ of chunks(n)) void _
    },
    async drain() {
      while (await take(Number.MAX_SAFE_INTEGER)) void 0
    },
    async close() {
      if (!ended) await it.return?.()
      ended = true
    },
  }
}

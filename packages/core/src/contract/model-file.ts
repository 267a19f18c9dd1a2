// The unit a source hands to the engine: metadata known before reading, bytes on demand.
import type { Readable } from 'node:stream'

export interface OpenOptions {
  /** Byte offset to start at: a cut read resumes here. */
  start?: number
  signal?: AbortSignal
}

export interface ModelFile {
  /** POSIX path relative to the model root, e.g. `tokenizer/vocab.json`. */
  path: string
  /** Known before reading: the tar header needs it. */
  size: number
  /** Unix mode bits; only the executable bits matter (0755 vs 0644 in the image). */
  mode?: number
  /** `sha256:…` when the source knows it (a Hub LFS oid): verified while streaming. */
  digest?: string
  /** Provenance, e.g. `hf://org/name@<commit>/path`, `file:///abs/path`. */
  origin?: string
  /**
   * The bytes from `start`. Make one attempt: a failure the engine may retry (a cut connection,
   * a 503) is a ModelcarError with `retryable` (and `retryAfterMs` when the server asked for a
   * pause); the engine waits and calls open() again from the byte it has. Small content already
   * in memory may come as a plain list of chunks.
   */
  open(opts?: OpenOptions): Promise<Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>>
}

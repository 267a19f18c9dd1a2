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
  /** `sha256:…` of the content when the source knows it (a Hub LFS oid, an S3 full-object checksum): verified while streaming. */
  digest?: string
  /**
   * A name of this exact content that the source knows before reading it and that is the same on
   * every machine: a git blob id (`git-blob:<sha1>`), an object version (`s3:<bucket>/<key>@<version>`).
   * The same identity must mean the same bytes. It is written into the layer's annotations, so a
   * later run finds the layer in the target image and reads nothing.
   */
  identity?: string
  /**
   * A cheap sign that content on this machine has not changed since it was last seen (device,
   * inode, size, modification time), for sources that can give neither a digest nor an identity
   * without reading the bytes. Kept in the local record of layers only, never in an image; a file
   * with a fingerprint is not hashed on its own while it streams (its layer digest is).
   */
  fingerprint?: string
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

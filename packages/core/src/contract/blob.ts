// How a sink takes one blob: a writer the engine streams into, then commits with the digest.
import type { Descriptor } from '../oci/types.js'

export interface BlobHint {
  mediaType: string
  /** Known for base blobs and for a layer streamed again; unknown on a layer's first pass. */
  size?: number
  /**
   * `false`: the engine computed the digest from these very bytes, so hashing them again proves
   * nothing. `true`: the bytes come from elsewhere (a base layer) and the sink must check them.
   */
  verify: boolean
  /**
   * Known when the digest is known before the bytes flow: a base blob, or a new layer streamed
   * again (the encoder is deterministic, so the digest of the first pass holds).
   */
  digest?: string
  /** The layer's annotations (title, content digest, origin), for a sink that recognises layers it holds. */
  annotations?: Record<string, string>
  /** 1 for the first stream of this blob to this sink, 2 and up when it is streamed again. */
  attempt?: number
}

/**
 * What commit() may answer besides done: the sink needs the blob streamed once more, now that
 * its digest and size are known (a registry that takes whole blobs only; a layer the sink
 * expected to hold already but does not). The engine streams it again for this sink alone.
 */
export interface StreamAgain {
  streamAgain: string
}

export interface BlobWriter {
  /** Takes the next bytes; resolves when the sink can take more (backpressure). */
  write(chunk: Uint8Array): Promise<void>
  /**
   * The last byte was written and `expected` is what the bytes were: check size (and, with
   * `verify`, the digest), then make the blob durable. Resolves to `{ streamAgain }` when the
   * sink needs the bytes once more; throws when they are wrong or the store failed.
   */
  commit(expected: Pick<Descriptor, 'digest' | 'size'>): Promise<void | StreamAgain>
  /** Drops the blob: nothing of it may remain (no temporary file, no open upload). */
  abort(): Promise<void>
}

/** Where a base's blobs live in a registry: a sink on that registry may mount them instead of copying. */
export interface BlobOrigin {
  /** The registry host as references name it (`quay.io`, `127.0.0.1:5000`). */
  registry: string
  repository: string
}

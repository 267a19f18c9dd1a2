// Where an artifact's documents and blobs are read from: an image layout on this machine or a
// registry. Documents come whole and digest-checked; layer bytes come by range (tar headers, at
// listing) or as a stream from an offset (one attempt: the engine retries a source's reads).
import type { Descriptor } from '@modelcar/core'

export interface BlobStore {
  /** The ref as the recipe wrote it, for messages: `oci-layout:./model:v1`, `registry:host/repo:tag`. */
  readonly name: string
  /** Provenance for the image's annotations: `host/repo` of a registry; undefined for a layout (its path is this machine's). */
  readonly repository: string | undefined
  /** The document the ref names (a manifest or an index), as its parent lists it. */
  root(): Promise<Descriptor>
  /** An index, manifest or config, whole, its digest checked. */
  readDocument(desc: Descriptor): Promise<Uint8Array>
  /** Bytes `[start, end)` of a blob (fewer only past its end). Retried by the policy: this is listing, not a source read. */
  readRange(desc: Descriptor, start: number, end: number): Promise<Uint8Array>
  /**
   * The blob's bytes from `start` (to `end`, exclusive, when given), one attempt: a failure
   * another try may cure is a ModelcarError with `retryable`. The bytes are not checked here.
   */
  open(desc: Descriptor, start: number, end: number | undefined, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>
}

/** No bytes (a read that starts at the end). */
export async function* nothing(): AsyncGenerator<Uint8Array> {}

// The image new layers go on top of, as the engine reads it: its documents (indexes, manifests,
// configs) by digest, and where its layer blobs can be streamed from. Bases are loaded by `base`
// components (`scratch`, `oci-layout`, `registry`, or a plugin's).
import type { Descriptor, Platform } from '../oci/types.js'
import type { BlobOrigin } from './blob.js'

/** Where the blobs of a base image can be read from. */
export interface BlobSource {
  /** For messages: `oci-layout:./download`. */
  readonly name: string
  /** A small blob read whole, digest checked. */
  readBlob(desc: Descriptor): Promise<Uint8Array>
  /** A blob as a stream from byte `start`; the copier checks the digest. */
  openBlob(desc: Descriptor, start?: number): AsyncIterable<Uint8Array>
}

export interface BaseImage {
  /** The base as the recipe names it, for messages: `scratch`, `oci-layout:./download:latest`. */
  readonly name: string
  /** The selected image (a manifest or an index); undefined for scratch. */
  readonly root: Descriptor | undefined
  /** Bytes of every index, manifest and config reachable from `root`, by digest. */
  readonly documents: ReadonlyMap<string, Uint8Array>
  /** Where layer blobs come from; undefined when the base has none (scratch). */
  readonly blobs: BlobSource | undefined
  /** For scratch: the platforms to create. */
  readonly platforms: Platform[]
  /**
   * The base's place in a registry, when it lives in one: sinks on that registry mount its blobs,
   * and new manifests name it in `org.opencontainers.image.base.name` (`reference`: `host/repo:tag`).
   */
  readonly registry?: BlobOrigin & { reference: string }
}

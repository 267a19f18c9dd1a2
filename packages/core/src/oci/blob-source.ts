// Where the blobs of a base image can be read from: an image layout today, a registry later.
import type { Descriptor } from './types.js'

export interface BlobSource {
  /** For messages: `oci-layout:./download`. */
  readonly name: string
  /** A small blob read whole, digest checked. */
  readBlob(desc: Descriptor): Promise<Uint8Array>
  /** A blob as a stream from byte `start`; the copier checks the digest. */
  openBlob(desc: Descriptor, start?: number): AsyncIterable<Uint8Array>
}

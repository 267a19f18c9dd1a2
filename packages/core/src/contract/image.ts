// The image a run made, as sinks receive it in commit(): every document with its exact bytes,
// and which blobs it needs besides the new layers.
import type { Descriptor, Platform } from '../oci/types.js'

export type DocumentKind = 'index' | 'manifest' | 'config'

export interface ImageDocument {
  kind: DocumentKind
  descriptor: Descriptor
  bytes: Uint8Array
}

export interface PlatformImage {
  platform: Platform | undefined
  descriptor: Descriptor
  layers: Descriptor[]
  /** How many of the new layers were new to this manifest (0 when re-run on its own output). */
  added: number
}

export interface EditedImage {
  /** The new image: an index or a manifest (no ref name: sinks add their tag). */
  root: Descriptor
  /** Every index, manifest and config of the new image, children before parents. */
  documents: ImageDocument[]
  /** Blobs the image needs that are neither documents nor new layers: base layers and the like. */
  baseBlobs: Descriptor[]
  /** Old digest → new descriptor, for every document of the base that changed. */
  rewritten: Map<string, Descriptor>
  /** Entries of the base that were dropped because they described a rewritten manifest. */
  dropped: Descriptor[]
  images: PlatformImage[]
}

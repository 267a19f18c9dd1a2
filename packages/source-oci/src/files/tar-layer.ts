// A tar layer as the listing found it, and what reads of it have verified since: the sha256 of
// each member, known once a pass over the whole layer matched the layer's digest. A file of a
// layer already verified is then read alone (its member's bytes, checked against that sha256);
// a pass under way is waited for rather than done twice at once.
import { errors, type Descriptor } from '@modelcar/core'
import type { Compression } from '../artifact/model-media-types.js'
import type { TarEntry } from '../tar/tar-entries.js'

export interface TarLayer {
  desc: Descriptor
  compression: Compression
  /** For messages: `sha256:1234… (weight, tar+gzip)`. */
  label: string
  /** Every member, in archive order; with `complete` false, only the first (the annotations say it is the only file). */
  entries: TarEntry[]
  complete: boolean
}

export class VerifiedLayers {
  /** Layer digest → member data offset → `sha256:…` of the member's data. */
  private readonly digests = new Map<string, ReadonlyMap<number, string>>()
  private readonly passes = new Map<string, Promise<void>>()

  /** The member's verified sha256, if a pass over its layer has matched the layer's digest. */
  memberDigest(layer: Descriptor, dataOffset: number): string | undefined {
    return this.digests.get(layer.digest)?.get(dataOffset)
  }

  record(layer: Descriptor, members: ReadonlyMap<number, string>): void {
    this.digests.set(layer.digest, members)
  }

  /** The pass over the layer under way, if any (it may leave the layer verified). */
  underWay(layer: Descriptor): Promise<void> | undefined {
    return this.passes.get(layer.digest)
  }

  /** Waits for a pass to end, however it ends; a cancelled run stops the wait. */
  async wait(pass: Promise<void>, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw errors.aborted(signal.reason)
    await new Promise<void>((resolve) => {
      const stop = () => resolve()
      signal.addEventListener('abort', stop, { once: true })
      void pass.finally(() => {
        signal.removeEventListener('abort', stop)
        resolve()
      })
    })
    if (signal.aborted) throw errors.aborted(signal.reason)
  }

  /** Marks a pass over the layer under way; call the returned function when it ends, however it ends. */
  begin(layer: Descriptor): () => void {
    let end!: () => void
    const pass = new Promise<void>((resolve) => (end = resolve))
    this.passes.set(layer.digest, pass)
    return () => {
      if (this.passes.get(layer.digest) === pass) this.passes.delete(layer.digest)
      end()
    }
  }
}
